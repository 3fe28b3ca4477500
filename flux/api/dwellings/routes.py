"""A landlord's stock of dwellings, and its CSV import."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.db import db
from flux.models import Dwelling
from flux.services import dwellings
from flux.services.access import visible_dwellings
from flux.services.errors import InvalidInput

from .schemas import (
    DwellingFilterSchema,
    DwellingSchema,
    DwellingTransferSchema,
    DwellingUpdateSchema,
    ImportFileSchema,
    ImportQuerySchema,
    ImportReportSchema,
)

blp = Blueprint(
    "dwellings", __name__, url_prefix="/dwellings", description="Patrimoine des bailleurs"
)

_row_schema = DwellingSchema(exclude=("landlord",))


@blp.route("")
class Dwellings(MethodView):
    @blp.arguments(DwellingFilterSchema, location="query")
    @blp.response(200, DwellingSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Logements visibles par l'appelant (filtres : bailleur, commune, QPV, dans le flux)."""
        stmt = sa.select(Dwelling).where(visible_dwellings(current_actor())).order_by(Dwelling.id)
        if "landlord" in filters:
            stmt = stmt.where(Dwelling.landlord_id == filters["landlord"])
        if "commune" in filters:
            stmt = stmt.where(Dwelling.commune_insee == filters["commune"])
        if "rpls_id" in filters:
            stmt = stmt.where(Dwelling.rpls_id == filters["rpls_id"])
        if "qpv" in filters:
            qpv = filters["qpv"]
            stmt = stmt.where(
                Dwelling.qpv_code.is_(None) if qpv == "aucun" else Dwelling.qpv_code == qpv
            )
        if "in_flux" in filters:
            in_flux = Dwelling.out_of_flux.is_(None)
            stmt = stmt.where(in_flux if filters["in_flux"] else sa.not_(in_flux))
        return page_of(stmt, pagination_parameters)

    @blp.arguments(DwellingSchema)
    @blp.response(201, DwellingSchema)
    @blp.alt_response(403, description="Seul le bailleur écrit son patrimoine")
    @blp.alt_response(409, description="RPLS déjà enregistré")
    def post(self, data):
        """Ajouter un logement au patrimoine d'un bailleur."""
        dwelling = dwellings.create(db.session, current_actor(), data)
        db.session.commit()
        return dwelling


@blp.route("/<int:dwelling_id>")
class DwellingItem(MethodView):
    @blp.response(200, DwellingSchema)
    def get(self, dwelling_id):
        """Un logement."""
        return dwellings.get(db.session, current_actor(), dwelling_id)

    @blp.arguments(DwellingUpdateSchema(partial=True))
    @blp.response(200, DwellingSchema)
    @blp.alt_response(403, description="Seul le bailleur écrit son patrimoine")
    def patch(self, data, dwelling_id):
        """Modifier un logement (commune, QPV, typologie, financement, année, sortie du flux)."""
        dwelling = dwellings.update(db.session, current_actor(), dwelling_id, data)
        db.session.commit()
        return dwelling

    @blp.response(204)
    @blp.alt_response(409, description="Logement déjà au journal")
    def delete(self, dwelling_id):
        """Supprimer un logement saisi par erreur (impossible s'il figure au journal)."""
        dwellings.delete(db.session, current_actor(), dwelling_id)
        db.session.commit()


@blp.route("/<int:dwelling_id>/transfer")
class DwellingTransfer(MethodView):
    @blp.arguments(DwellingTransferSchema)
    @blp.response(201, DwellingSchema)
    @blp.alt_response(403, description="Seul le bailleur cédant (ou un administrateur) cède")
    @blp.alt_response(409, description="Logement déjà cédé")
    def post(self, data, dwelling_id):
        """Céder un logement à un autre bailleur (vente) : le logement du cédant est marqué
        cédé à la date donnée, l'acquéreur reçoit le même numéro RPLS. Répond le logement
        de l'acquéreur."""
        bought = dwellings.transfer(
            db.session, current_actor(), dwelling_id, data["landlord"], data["on"]
        )
        db.session.commit()
        return bought


@blp.route("/import")
class DwellingImport(MethodView):
    @blp.arguments(ImportQuerySchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(
        422, description="Lignes invalides (numéros de ligne dans errors) ; rien n'est écrit"
    )
    def post(self, query, files):
        """Importer un fichier CSV de logements (création ou mise à jour par numéro RPLS).

        Colonnes (séparateur `;` ou `,`, UTF-8) : rpls_id;commune;qpv;typology;financing;
        construction_year;out_of_flux. Si une seule ligne est invalide, rien n'est écrit et
        la réponse liste chaque ligne fautive avec ses champs.
        """
        upload = files["file"]
        content = upload.read() if hasattr(upload, "read") else None
        if content is None:
            raise InvalidInput("Fichier CSV attendu dans le champ « file ».")
        try:
            report = dwellings.import_csv(
                db.session, current_actor(), content, query.get("landlord"), _row_schema.load
            )
        except InvalidInput as error:
            # The service names the landlord as a body field; here it is a query parameter.
            if "json" in error.errors:
                error.errors = {"query": error.errors.pop("json"), **error.errors}
            raise
        if query["dry_run"]:
            db.session.rollback()
        else:
            db.session.commit()
        return {**report.__dict__, "dry_run": query["dry_run"]}
