"""Import jobs: the address `POST /vacancies/import` and `POST /dwellings/import` answer
with, polled until the end."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.services import import_jobs

blp = Blueprint(
    "imports", __name__, url_prefix="/imports", description="Imports de fichiers en tâche de fond"
)


class ImportJobSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "vacancies ou dwellings"})
    status = ma.fields.String(
        metadata={"description": "queued, running, succeeded, failed, interrupted"}
    )
    filename = ma.fields.String()
    landlord_id = ma.fields.Integer(allow_none=True)
    dry_run = ma.fields.Boolean()
    all_or_nothing = ma.fields.Boolean()
    rows_read = ma.fields.Integer(metadata={"description": "Lignes traitées (progression)"})
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)
    report = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "À la fin. Libérations : rows, created, existing, refused, "
            "written, refusals (line, reason) et results (line, status : created | existing "
            "| refused, vacancy_id). Logements : created, updated, unchanged, dry_run ; en "
            "échec (une ligne invalide : rien n'est écrit), files.file : numéro de ligne → "
            "champ → messages"
        },
    )


@blp.route("/<int:job_id>")
class ImportItem(MethodView):
    @blp.response(200, ImportJobSchema)
    @blp.alt_response(404, description="Import inconnu, ou d'un autre bailleur")
    def get(self, job_id):
        """Où en est un import : état, lignes traitées, puis le compte rendu ligne par ligne."""
        return import_jobs.describe(import_jobs.get(db.session, current_actor(), job_id))
