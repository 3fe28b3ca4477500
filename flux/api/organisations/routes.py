"""Organisations: landlords and reservers."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.db import db
from flux.models import Organisation
from flux.services import organisations
from flux.services.organisations import NewOrganisation

from .schemas import OrganisationFilterSchema, OrganisationSchema, OrganisationUpdateSchema

blp = Blueprint(
    "organisations",
    __name__,
    url_prefix="/organisations",
    description="Bailleurs et réservataires",
)


@blp.route("")
class Organisations(MethodView):
    @blp.arguments(OrganisationFilterSchema, location="query")
    @blp.response(200, OrganisationSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Liste des organisations (filtres : type, catégorie de réservataire)."""
        stmt = sa.select(Organisation).order_by(Organisation.id)
        for key, column in (("kind", Organisation.kind), ("category", Organisation.category)):
            if key in filters:
                stmt = stmt.where(column == filters[key])
        return page_of(stmt, pagination_parameters)

    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    @blp.alt_response(403, description="Réservé aux administrateurs")
    @blp.alt_response(
        409, description="Code déjà utilisé, ou territoire d'EPCI ou d'EPT déjà représenté"
    )
    def post(self, data):
        """Créer une organisation (administrateurs)."""
        org = organisations.create(db.session, current_actor(), NewOrganisation(**data))
        db.session.commit()
        return org


@blp.route("/<int:organisation_id>")
class OrganisationItem(MethodView):
    @blp.response(200, OrganisationSchema)
    def get(self, organisation_id):
        """Une organisation."""
        return organisations.get(db.session, organisation_id)

    @blp.arguments(OrganisationUpdateSchema)
    @blp.response(200, OrganisationSchema)
    @blp.alt_response(403, description="Réservé aux administrateurs")
    def patch(self, data, organisation_id):
        """Renommer une organisation (administrateurs) ; code, type, catégorie et territoire ne
        changent pas."""
        org = organisations.rename(db.session, current_actor(), organisation_id, data["name"])
        db.session.commit()
        return org
