"""Conventions de réservation, their shares and amendments (writes need If-Match)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Response, after_this_request, request
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.db import db
from flux.models import Convention, ConventionVersion
from flux.services import conventions, derogations
from flux.services.conventions import SavedConvention
from flux.services.errors import PreconditionFailed, PreconditionRequired

from .schemas import (
    AmendmentInputSchema,
    ConventionFilterSchema,
    ConventionInputSchema,
    ConventionLabelSchema,
    ConventionSchema,
    DerogationInputSchema,
    DerogationSchema,
    SavedConventionSchema,
    TerminationSchema,
    VersionSchema,
)

blp = Blueprint(
    "conventions",
    __name__,
    url_prefix="/conventions",
    description="Conventions de réservation, leurs parts et leurs avenants",
)


def _view(convention: Convention, warnings: list | None = None) -> dict[str, Any]:
    return {
        "id": convention.id,
        "reference": convention.reference,
        "label": convention.label,
        "landlord": convention.landlord,
        "reserver": convention.reserver,
        "departement_code": convention.departement_code,
        "revision": convention.revision,
        "status": (
            "terminated"
            if convention.terminated_on
            else "imposed_by_arrete"
            if convention.imposed_by_arrete
            else "signed"
        ),
        "imposed_by_arrete": convention.imposed_by_arrete,
        "imposed_on": convention.imposed_on,
        "terminated_on": convention.terminated_on,
        "termination_reference": convention.termination_reference,
        "formal_notice_on": convention.formal_notice_on,
        "current": conventions.version_on(convention, date.today()),
        "versions": convention.versions,
        "warnings": [w.__dict__ for w in warnings or []],
    }


def _etag(convention: Convention) -> str:
    return f"convention-{convention.id}-r{convention.revision}"


def _set_etag(convention: Convention) -> None:
    @after_this_request
    def _header(response: Response) -> Response:
        response.set_etag(_etag(convention))
        return response


def _check_if_match(convention: Convention) -> int:
    """The revision the caller read, from If-Match (428 if missing, 412 if stale)."""
    if not request.headers.get("If-Match"):
        raise PreconditionRequired(
            "Relisez la convention (GET) et renvoyez son ETag dans l'en-tête If-Match."
        )
    if not request.if_match.contains(_etag(convention)):
        raise PreconditionFailed("La convention a été modifiée depuis votre lecture.")
    return convention.revision


IF_MATCH = {
    "parameters": [
        {
            "in": "header",
            "name": "If-Match",
            "required": True,
            "schema": {"type": "string"},
            "description": "ETag reçue à la lecture de la convention (GET)",
        }
    ]
}


def _saved(saved: SavedConvention) -> dict[str, Any]:
    db.session.commit()
    _set_etag(saved.convention)
    return _view(saved.convention, saved.warnings)


@blp.route("")
class Conventions(MethodView):
    @blp.arguments(ConventionFilterSchema, location="query")
    @blp.response(200, ConventionSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Conventions visibles par l'appelant (filtres : bailleur, réservataire, département,
        en vigueur à une date)."""
        stmt = conventions.query_visible(current_actor())
        for key, column in (
            ("landlord", Convention.landlord_id),
            ("reserver", Convention.reserver_id),
            ("departement", Convention.departement_code),
        ):
            if key in filters:
                stmt = stmt.where(column == filters[key])
        if "in_force_on" in filters:
            on = filters["in_force_on"]
            later = sa.orm.aliased(ConventionVersion)
            # The version governing that day (the last one begun) must be valid then: a
            # résiliation or an amendment shortening the validity ends the earlier versions.
            stmt = stmt.where(
                Convention.versions.any(
                    sa.and_(
                        ConventionVersion.effective_from <= on,
                        ConventionVersion.valid_from <= on,
                        sa.or_(
                            ConventionVersion.valid_until.is_(None),
                            ConventionVersion.valid_until >= on,
                        ),
                        ~sa.exists().where(
                            later.convention_id == ConventionVersion.convention_id,
                            later.effective_from > ConventionVersion.effective_from,
                            later.effective_from <= on,
                        ),
                    )
                )
            )
        return [_view(c) for c in page_of(stmt, pagination_parameters)]

    @blp.arguments(ConventionInputSchema)
    @blp.response(201, SavedConventionSchema)
    @blp.alt_response(
        403, description="Seuls le bailleur, la préfecture (État) ou un administrateur"
    )
    @blp.alt_response(
        409,
        description="Référence déjà utilisée, ou termes rétroactifs : des libérations sont "
        "déjà enregistrées après leur date d'effet",
    )
    def post(self, data):
        """Créer une convention avec ses parts.

        Refusée (422, avec la règle et les chiffres) si elle dépasse un plafond : État ≤ 30 %
        dont agents ≤ 5 %, total ≤ 100 % dans chaque commune, une seule convention par bailleur,
        réservataire et département. Une part de collectivité liée à une garantie d'emprunt
        au-delà de 20 % est acceptée avec un avertissement (`warnings`).
        """
        return _saved(conventions.create(db.session, current_actor(), data))


@blp.route("/<int:convention_id>")
class ConventionItem(MethodView):
    @blp.response(200, ConventionSchema)
    def get(self, convention_id):
        """Une convention : la version en vigueur et toutes ses versions. Renvoie une ETag."""
        convention = conventions.get(db.session, current_actor(), convention_id)
        _set_etag(convention)
        return _view(convention)

    @blp.arguments(ConventionLabelSchema)
    @blp.response(200, ConventionSchema)
    @blp.alt_response(412, description="ETag périmée : la convention a changé")
    @blp.alt_response(428, description="En-tête If-Match manquant")
    @blp.doc(**IF_MATCH)
    def patch(self, data, convention_id):
        """Changer l'intitulé d'une convention (If-Match requis).

        Les termes (parts, périmètre, politiques) changent par avenant.
        """
        convention = conventions.get_writable(db.session, current_actor(), convention_id)
        revision = _check_if_match(convention)
        convention = conventions.update_label(
            db.session, current_actor(), convention_id, data, revision
        )
        db.session.commit()
        _set_etag(convention)
        return _view(convention)


@blp.route("/<int:convention_id>/amendments")
class Amendments(MethodView):
    @blp.response(200, VersionSchema(many=True))
    def get(self, convention_id):
        """Les versions successives de la convention (la première puis chaque avenant)."""
        return conventions.get(db.session, current_actor(), convention_id).versions

    @blp.arguments(AmendmentInputSchema)
    @blp.response(201, SavedConventionSchema)
    @blp.alt_response(
        409,
        description="Termes rétroactifs : des libérations sont déjà enregistrées après la "
        "date d'effet de l'avenant",
    )
    @blp.alt_response(412, description="ETag périmée : la convention a changé")
    @blp.alt_response(428, description="En-tête If-Match manquant")
    @blp.doc(**IF_MATCH)
    def post(self, data, convention_id):
        """Ajouter un avenant : nouvelles parts (toutes) à partir d'une date (If-Match requis).

        L'ancienne version reste lisible ; les plafonds sont vérifiés sur toute la durée.
        """
        convention = conventions.get_writable(db.session, current_actor(), convention_id)
        revision = _check_if_match(convention)
        saved = conventions.amend(db.session, current_actor(), convention_id, data, revision)
        return _saved(saved)


@blp.route("/<int:convention_id>/termination")
class Termination(MethodView):
    @blp.arguments(TerminationSchema)
    @blp.response(201, SavedConventionSchema)
    @blp.alt_response(409, description="Convention déjà résiliée")
    @blp.alt_response(412, description="ETag périmée : la convention a changé")
    @blp.alt_response(428, description="En-tête If-Match manquant")
    @blp.doc(**IF_MATCH)
    def post(self, data, convention_id):
        """Résilier une convention à une date (If-Match requis) : statut « terminated » avec la
        date, la référence et, pour l'État, la mise en demeure deux mois avant (R.441-5-2 IV).
        """
        convention = conventions.get_writable(db.session, current_actor(), convention_id)
        revision = _check_if_match(convention)
        return _saved(
            conventions.terminate(db.session, current_actor(), convention_id, data, revision)
        )


@blp.route("/derogations")
class Derogations(MethodView):
    @blp.response(200, DerogationSchema(many=True))
    def get(self):
        """Les arrêtés du préfet dérogeant aux plafonds de l'État (R.441-5-2 I), que l'appelant
        peut voir : la préfecture ceux de son département, un bailleur les siens."""
        return derogations.listing(db.session, current_actor())

    @blp.arguments(DerogationInputSchema)
    @blp.response(201, DerogationSchema)
    @blp.alt_response(403, description="Seuls la préfecture du département ou un administrateur")
    @blp.alt_response(404, description="Bailleur introuvable")
    def post(self, data):
        """Enregistrer un arrêté du préfet qui relève les plafonds de l'État (30 % et 5 %) pour
        un bailleur dans un département, pour une durée d'au plus un an (R.441-5-2 I al.2)."""
        row = derogations.create(db.session, current_actor(), data)
        db.session.commit()
        return row
