"""The bilan annuel (R.441-5-1): JSON, or a CSV, XLSX or PDF download."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.reporting import render
from flux.services import report_jobs, reports
from flux.services.errors import Conflict, NotFound

from .schemas import AnnualQuerySchema, AnnualReportSchema, ReportJobSchema

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    description="Bilan annuel de la gestion en flux (bailleur, réservataire, préfecture)",
)

DOWNLOAD = {"type": "string", "format": "binary"}
FORMATS_DOC = {
    "responses": {
        "200": {
            "description": "Le bilan : JSON par défaut ; fichier à télécharger "
            "(Content-Disposition: attachment) avec format=csv, xlsx ou pdf",
            "content": {
                "application/json": {"schema": AnnualReportSchema},
                render.MEDIA_TYPES["csv"]: {"schema": DOWNLOAD},
                render.MEDIA_TYPES["xlsx"]: {"schema": DOWNLOAD},
                render.MEDIA_TYPES["pdf"]: {"schema": DOWNLOAD},
                render.MEDIA_TYPES["zip"]: {"schema": DOWNLOAD},
            },
        }
    }
}


@blp.route("/annual")
class AnnualReport(MethodView):
    @blp.arguments(AnnualQuerySchema, location="query")
    @blp.doc(**FORMATS_DOC)
    @blp.alt_response(
        404, description="Bailleur, réservataire ou département inconnu ou hors du périmètre"
    )
    @blp.alt_response(
        202,
        description="Bilan trop volumineux pour une requête (ou en-tête Prefer: "
        "respond-async) : préparé en arrière-plan ; l'en-tête Location donne l'adresse à "
        "interroger (GET /reports/jobs/{job_id})",
        schema=ReportJobSchema,
    )
    def get(self, query):
        """Bilan annuel d'une année : droits par part, répartition des logements proposés et
        attribués, logements soustraits du flux (prévision et réalisé), contrôle des
        obligations, écritures tardives.

        Sans filtre, tout ce que l'appelant peut voir : un bailleur ses périmètres, un
        réservataire, chez chacun de ses bailleurs, les lignes de tous les réservataires
        (R.441-5-1 ; ses seules lignes si FLUX_BILAN_EVERY_RESERVER=false), jamais la part non
        réservée ; un EPCI soumis à la réforme des attributions ou un EPT, en outre, les bilans
        des bailleurs ayant des logements sur son territoire ; la préfecture son département
        (une ligne par bailleur × part), un administrateur tout.
        `format=csv|xlsx|pdf|zip` renvoie un fichier (CSV : `;`, UTF-8 avec BOM ; avec
        `part=`, une partie seule en CSV « tidy » ; ZIP : toutes les parties en CSV « tidy »).
        Un bilan de plus de 60 périmètres (ou demandé avec `Prefer: respond-async`) est
        préparé en arrière-plan : réponse 202 et en-tête Location à interroger. Le PDF d'un
        bilan émis par la campagne (bailleur, département et réservataire donnés) est servi
        tel qu'il a été émis.
        """
        fmt, part = query.pop("format"), query.pop("part", None)
        actor, report_query = current_actor(), reports.ReportQuery(**query)
        issued = reports.issued(db.session, actor, report_query) if fmt == "pdf" else None
        if issued is not None:  # the campaign's bilan, as it was issued
            return _file(issued.content, issued.media_type, issued.filename)
        if report_jobs.in_background(
            db.session,
            actor,
            report_query,
            "respond-async" in request.headers.get("Prefer", ""),
            current_app.config.get("REPORT_BACKGROUND_SCOPES", report_jobs.BACKGROUND_SCOPES),
        ):
            job = report_jobs.request(db.session, actor, report_query, fmt, part)
            db.session.commit()
            return _accepted(job)
        report = reports.annual(db.session, actor, report_query)
        if fmt == "json":
            return jsonify(render.to_json(report))
        rendered = render.render(report, fmt, part)
        return _file(rendered.content, rendered.media_type, rendered.filename)


JOB_DOC = {
    "responses": {
        "200": {
            "description": "Le bilan préparé, dans le format demandé (JSON ou fichier)",
            "content": {
                "application/json": {"schema": AnnualReportSchema},
                **{render.MEDIA_TYPES[f]: {"schema": DOWNLOAD} for f in ("csv", "xlsx", "pdf")},
                render.MEDIA_TYPES["zip"]: {"schema": DOWNLOAD},
            },
        },
        "202": {
            "description": "En préparation : réessayer plus tard (en-tête Retry-After)",
            "content": {"application/json": {"schema": ReportJobSchema}},
        },
    }
}


@blp.route("/jobs/<int:job_id>")
class ReportJobFile(MethodView):
    @blp.doc(**JOB_DOC)
    @blp.alt_response(404, description="Préparation introuvable (ou demandée par un autre)")
    @blp.alt_response(409, description="La préparation a échoué")
    def get(self, job_id):
        """Un bilan préparé en arrière-plan : 202 tant qu'il est en préparation, puis le
        fichier. Seul celui qui l'a demandé (ou un administrateur) le lit."""
        job = report_jobs.visible(db.session, current_actor(), job_id)
        if job is None:
            raise NotFound(f"Préparation de bilan {job_id} introuvable.")
        if job.status == "failed":
            raise Conflict(f"La préparation du bilan {job_id} a échoué ; demandez-le à nouveau.")
        if job.status != "done":
            return _accepted(job)
        if job.format == "json":
            return Response(job.content, content_type=job.media_type)
        return _file(job.content, job.media_type, job.filename)


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        content_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _accepted(job) -> tuple[Response, int, dict[str, str]]:
    location = url_for("reports.ReportJobFile", job_id=job.id)
    body = ReportJobSchema().dump(
        {"id": job.id, "status": job.status, "format": job.format, "location": location}
    )
    return jsonify(body), 202, {"Location": location, "Retry-After": "5"}
