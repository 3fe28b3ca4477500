"""The bilan annuel (R.441-5-1): JSON, or a CSV, XLSX or PDF download."""

from __future__ import annotations

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.reporting import render
from flux.services import reports

from .schemas import AnnualQuerySchema, AnnualReportSchema

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
    def get(self, query):
        """Bilan annuel d'une année : droits par part, répartition des logements proposés et
        attribués, logements soustraits du flux (prévision et réalisé), contrôle des
        obligations, écritures tardives.

        Sans filtre, tout ce que l'appelant peut voir : un bailleur ses périmètres, un
        réservataire ses parts (sans la part non réservée ni les autres réservataires), la
        préfecture son département (une ligne par bailleur × part), un administrateur tout.
        `format=csv|xlsx|pdf` renvoie un fichier (CSV : `;`, UTF-8 avec BOM).
        """
        fmt, part = query.pop("format"), query.pop("part", None)
        report = reports.annual(db.session, current_actor(), reports.ReportQuery(**query))
        if fmt == "json":
            return jsonify(render.to_json(report))
        rendered = render.render(report, fmt, part)
        return Response(
            rendered.content,
            content_type=rendered.media_type,
            headers={"Content-Disposition": f'attachment; filename="{rendered.filename}"'},
        )
