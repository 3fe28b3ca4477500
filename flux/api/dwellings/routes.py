"""A landlord's stock of dwellings, and its CSV import."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.api.imports.routes import ImportJobSchema
from flux.db import db
from flux.models import Dwelling
from flux.services import dwellings, import_jobs
from flux.services.access import visible_dwellings
from flux.services.errors import InvalidInput

from .schemas import (
    DwellingFilterSchema,
    DwellingSchema,
    DwellingTransferSchema,
    DwellingUpdateSchema,
    ImportFileSchema,
    ImportQuerySchema,
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


IMPORT_MAX_BYTES = 512 * 1024 * 1024  # a file spooled to disk, like the vacancies' import


@blp.before_request
def _larger_uploads_for_imports() -> None:
    # The global limit (max_content_length) is sized for JSON bodies; an import streams its
    # file to disk, so it may be far larger (FLUX_IMPORT_MAX_BYTES to change it).
    if request.endpoint == "dwellings.DwellingImport":
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES)


@blp.route("/import")
class DwellingImport(MethodView):
    @blp.arguments(ImportQuerySchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(202, ImportJobSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Seul le bailleur écrit son patrimoine")
    def post(self, query, files):
        """Importer un fichier CSV de logements (création ou mise à jour par numéro RPLS).

        Colonnes (séparateur `;` ou `,`, UTF-8 avec ou sans BOM) : rpls_id;commune;qpv;
        typology;financing;construction_year;out_of_flux, puis les colonnes facultatives
        (voir le README). Le fichier est lu au fil de l'eau par une tâche de fond : la réponse
        (202) donne son adresse (`Location`, `GET /imports/{id}`) ; la consulter jusqu'à la
        fin. `succeeded` : `report` donne created, updated, unchanged et dry_run. Si une seule
        ligne est invalide, rien n'est écrit : la tâche finit `failed`, `error` le dit et
        `report.files.file` liste chaque ligne fautive (numéro de ligne → champ → messages).
        `dry_run` : tout est vérifié et compté, rien n'est écrit.
        """
        upload = files["file"]
        if not hasattr(upload, "read"):
            raise InvalidInput(
                "Fichier CSV attendu dans le champ « file ».",
                errors={"files": {"file": ["Fichier attendu."]}},
            )
        try:
            job, path = import_jobs.submit(
                db.session,
                current_actor(),
                "dwellings",
                upload,
                upload.filename or "logements.csv",
                query.get("landlord"),
                dry_run=query["dry_run"],
                all_or_nothing=True,
            )
        except InvalidInput as error:
            # The service names the landlord as a body field; here it is a query parameter.
            if "json" in error.errors:
                error.errors = {"query": error.errors.pop("json"), **error.errors}
            raise
        db.session.commit()
        body = import_jobs.describe(job)
        import_jobs.start(
            current_app._get_current_object(), job.id, path, current_actor(), _row_schema.load
        )
        return body, 202, {"Location": url_for("imports.ImportItem", job_id=job.id)}
