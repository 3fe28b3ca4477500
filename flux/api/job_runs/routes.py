"""Runs of the scheduled jobs, one per job and period."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.models import JobRun
from flux.scheduler.jobs import JOBS
from flux.services.access import require_admin

blp = Blueprint(
    "job_runs", __name__, url_prefix="/job-runs", description="Exécutions des tâches planifiées"
)


class JobRunFilterSchema(ma.Schema):
    job = ma.fields.String(validate=ma.validate.OneOf(sorted(JOBS)))


class JobRunSchema(ma.Schema):
    id = ma.fields.Integer()
    job = ma.fields.String()
    period = ma.fields.String()
    run_for = ma.fields.Date()
    status = ma.fields.String()
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    summary = ma.fields.Dict()
    error = ma.fields.String(allow_none=True)


@blp.route("")
class JobRuns(MethodView):
    @blp.arguments(JobRunFilterSchema, location="query")
    @blp.response(200, JobRunSchema(many=True))
    @blp.alt_response(403, description="Réservé aux administrateurs")
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Les exécutions des tâches planifiées (une par tâche et par période), les plus
        récentes d'abord. Elles concernent tous les bailleurs et tous les départements à la
        fois : administrateurs seulement ; chacun lit ce qui le concerne dans `/alerts` et
        `/bilans`."""
        require_admin(current_actor())
        stmt = sa.select(JobRun).order_by(JobRun.id.desc())
        if "job" in filters:
            stmt = stmt.where(JobRun.job == filters["job"])
        return page_of(stmt, pagination_parameters)
