"""Allocation scopes: a landlord in a département, and the rule that orients its vacancies."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.domain.allocation import Rule
from flux.services import scopes

blp = Blueprint(
    "allocation_scopes",
    __name__,
    url_prefix="/allocation-scopes",
    description="Périmètres d'allocation (bailleur × département) et leur règle",
)


class ScopeSchema(ma.Schema):
    landlord_id = ma.fields.Integer(dump_only=True)
    departement = ma.fields.String(dump_only=True)
    rule = ma.fields.Enum(
        Rule,
        by_value=True,
        required=True,
        metadata={
            "description": "largest_deficit (défaut) ou tijdeman_deadline (seulement si "
            "chaque part couvre tout le département, sans sous-objectif)"
        },
    )


@blp.route("")
class Scopes(MethodView):
    @blp.response(200, ScopeSchema(many=True))
    def get(self):
        """Périmètres visibles (bailleur, préfecture, administrateur) et leur règle."""
        return scopes.list_scopes(db.session, current_actor())


@blp.route("/<int:landlord_id>/<string:departement>")
class ScopeItem(MethodView):
    @blp.arguments(ScopeSchema)
    @blp.response(200, ScopeSchema)
    @blp.alt_response(403, description="Réservé au bailleur et aux administrateurs")
    def put(self, data, landlord_id, departement):
        """Choisir la règle d'orientation du périmètre.

        La règle de Tijdeman (1980) garde chaque part à moins de 1 − 1/(2k−2) logement de son
        dû quand toutes les parts sont éligibles partout ; elle est refusée (422) si une
        convention ne couvre pas tout le département ou répartit sa part (l'État par commune).
        """
        result = scopes.set_rule(
            db.session, current_actor(), landlord_id, departement, data["rule"]
        )
        db.session.commit()
        return result
