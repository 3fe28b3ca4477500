"""Territories (read only; loaded with `flux territories load`)."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.common import page_of, paginated
from flux.db import db
from flux.models import Commune, Departement, Epci, Qpv
from flux.services.errors import NotFound

from .schemas import (
    CommuneFilterSchema,
    CommuneSchema,
    DepartementSchema,
    EpciFilterSchema,
    EpciSchema,
    QpvFilterSchema,
    QpvSchema,
)

blp = Blueprint(
    "territories",
    __name__,
    url_prefix="/territories",
    description="Départements, EPCI, communes et quartiers prioritaires (QPV)",
)


def _get(model, key: str, label: str):
    row = db.session.get(model, key)
    if row is None:
        raise NotFound(f"{label} « {key} » introuvable.")
    return row


@blp.route("/departements")
class Departements(MethodView):
    @blp.response(200, DepartementSchema(many=True))
    @paginated(blp)
    def get(self, pagination_parameters):
        """Liste des départements."""
        return page_of(sa.select(Departement).order_by(Departement.code), pagination_parameters)


@blp.route("/departements/<string:code>")
class DepartementItem(MethodView):
    @blp.response(200, DepartementSchema)
    def get(self, code):
        """Un département par son code."""
        return _get(Departement, code, "Département")


@blp.route("/epcis")
class Epcis(MethodView):
    @blp.arguments(EpciFilterSchema, location="query")
    @blp.response(200, EpciSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Liste des EPCI (filtre : département)."""
        stmt = sa.select(Epci).order_by(Epci.siren)
        if "departement" in filters:
            stmt = stmt.where(Epci.departement_code == filters["departement"])
        return page_of(stmt, pagination_parameters)


@blp.route("/epcis/<string:siren>")
class EpciItem(MethodView):
    @blp.response(200, EpciSchema)
    def get(self, siren):
        """Un EPCI par son SIREN."""
        return _get(Epci, siren, "EPCI")


@blp.route("/communes")
class Communes(MethodView):
    @blp.arguments(CommuneFilterSchema, location="query")
    @blp.response(200, CommuneSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Liste des communes (filtres : département, EPCI)."""
        stmt = sa.select(Commune).order_by(Commune.insee)
        if "departement" in filters:
            stmt = stmt.where(Commune.departement_code == filters["departement"])
        if "epci" in filters:
            stmt = stmt.where(Commune.epci_siren == filters["epci"])
        return page_of(stmt, pagination_parameters)


@blp.route("/communes/<string:insee>")
class CommuneItem(MethodView):
    @blp.response(200, CommuneSchema)
    def get(self, insee):
        """Une commune par son code INSEE."""
        return _get(Commune, insee, "Commune")


@blp.route("/qpvs")
class Qpvs(MethodView):
    @blp.arguments(QpvFilterSchema, location="query")
    @blp.response(200, QpvSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Liste des quartiers prioritaires (filtre : commune)."""
        stmt = sa.select(Qpv).order_by(Qpv.code)
        if "commune" in filters:
            stmt = stmt.where(Qpv.communes.any(Commune.insee == filters["commune"]))
        return page_of(stmt, pagination_parameters)


@blp.route("/qpvs/<string:code>")
class QpvItem(MethodView):
    @blp.response(200, QpvSchema)
    def get(self, code):
        """Un quartier prioritaire par son code."""
        return _get(Qpv, code, "QPV")
