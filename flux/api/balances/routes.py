"""Balances: how much of each share's entitlement has been met, as of any date."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.services import balances

from .schemas import BalanceQuerySchema, BalanceSchema

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
        return balances.balances(db.session, current_actor(), balances.BalanceQuery(**query))
