"""Alerts raised by the scheduled jobs (nightly check, expiring conventions, missing bilans)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.db import db
from flux.services import alerts

blp = Blueprint(
    "alerts", __name__, url_prefix="/alerts", description="Alertes des tâches planifiées"
)

KINDS = (
    "invariant",
    "gap",
    "convention_expiring",
    "guarantee_ended",
    "bilan_missing",
    "bilan_failed",
    "deadline_refused",
    "held_refused",
    "guarantee_share_above_20",
    "deduction_forecast_missing",
)


class AlertFilterSchema(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))
    departement = ma.fields.String(validate=ma.validate.Length(max=3))


class AlertSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    message = ma.fields.String()
    landlord_id = ma.fields.Integer(allow_none=True)
    reserver_id = ma.fields.Integer(allow_none=True)
    departement = ma.fields.String(attribute="departement_code", allow_none=True)
    convention_id = ma.fields.Integer(allow_none=True)
    share_id = ma.fields.Integer(allow_none=True)
    figures = ma.fields.Dict()
    job_run_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


@blp.route("")
class Alerts(MethodView):
    @blp.arguments(AlertFilterSchema, location="query")
    @blp.response(200, AlertSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Les alertes que l'appelant peut voir, les plus récentes d'abord : un bailleur et un
        réservataire celles qui les concernent, la préfecture celles de son département.

        `invariant` : un invariant du journal rompu ; `gap` : une part à plus de 2 logements
        de son objectif ; `convention_expiring` : une convention qui échoit dans les 90 jours ;
        `guarantee_ended` : une part liée à une garantie d'emprunt échue ; `bilan_missing` : un
        bilan annuel non émis au 28 février ; `bilan_failed` : un bilan que la campagne n'a pas
        pu produire ; `deadline_refused` : une carence ou une reprise échue que les règles
        refusent d'enregistrer (à traiter à la main) ; `held_refused` : une libération en attente
        de la clôture que les règles ne permettent pas d'orienter (elle reste en attente ; la
        tâche `deadlines` la réessaie chaque nuit ; sinon, à retirer).
        """
        stmt = alerts.listing(db.session, current_actor(), **filters)
        return page_of(stmt, pagination_parameters)
