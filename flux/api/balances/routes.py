"""Balances: how much of each share's entitlement has been met, as of any date, and month by
month over a year."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.services import balances, references

from .schemas import (
    BalanceQuerySchema,
    BalanceSchema,
    BalanceSeriesSchema,
    SeriesQuerySchema,
    TotalsSchema,
)

blp = Blueprint(
    "balances",
    __name__,
    url_prefix="/balances",
    description="État des droits : objectif, réalisé, écart, à toute date",
)


@blp.route("")
class Balances(MethodView):
    @blp.arguments(BalanceQuerySchema, location="query")
    @blp.response(200, BalanceSchema(many=True))
    def get(self, query):
        """Par part (et part non réservée de chaque bailleur) : libérations éligibles, objectif,
        réalisé, écart et report, à la date `as_of`, recalculés depuis le journal.

        Un réservataire ne voit que ses parts ; un bailleur les siennes et sa part non
        réservée ; la préfecture son département.
        """
        return balances.balances(
            db.session, current_actor(), _resolved(query, balances.BalanceQuery)
        )


@blp.route("/monthly")
class MonthlyBalances(MethodView):
    @blp.arguments(SeriesQuerySchema, location="query")
    @blp.response(200, BalanceSeriesSchema(many=True))
    def get(self, query):
        """Par part (et part non réservée), la série mensuelle cumulée de l'année `year` :
        libérations éligibles, objectif, réalisé et écart au dernier jour de chaque mois, depuis
        le 1er janvier, pour tracer l'objectif face au réalisé.

        Chaque point vaut exactement `/balances?as_of=<fin du mois>&year=<year>`. Aucun point
        après aujourd'hui : pour l'année en cours, le point du mois en cours est arrêté à
        aujourd'hui et les mois suivants sont absents ; une année future n'a aucun point.
        Mêmes filtres et mêmes droits que `/balances`.
        """
        return balances.monthly_balances(
            db.session, current_actor(), _resolved(query, balances.SeriesQuery)
        )


@blp.route("/totals")
class BalanceTotals(MethodView):
    @blp.arguments(BalanceQuerySchema, location="query")
    @blp.response(200, TotalsSchema)
    def get(self, query):
        """Les lignes de `/balances` (mêmes filtres, mêmes droits) additionnées par
        réservataire et par bailleur : objectif, réalisé, proposés, attribués, baux, repris,
        réalisé compté, écart et taux de réalisation."""
        return balances.totals(db.session, current_actor(), _resolved(query, balances.BalanceQuery))


def _resolved(query: dict, kind):
    """Codes (bailleur, réservataire, référence de convention, « référence/code » de part)
    turned into ids; an unknown code is refused, naming its parameter."""
    session = db.session
    values = dict(query)
    for name in ("landlord", "reserver"):
        if name in values:
            values[name] = references.organisation_id(session, values[name], name)
    if "convention" in values:
        values["convention"] = references.convention_id(session, values["convention"])
    if "share" in values:
        values["share"] = references.share_id(session, values["share"])
    return kind(**values)
