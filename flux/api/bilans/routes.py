"""Annual reports issued by the bilan campaign, and those still missing."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.db import db
from flux.services import bilan_campaign
from flux.services.errors import NotFound

blp = Blueprint(
    "bilans",
    __name__,
    url_prefix="/bilans",
    description="Bilans annuels émis par la campagne (R.441-5-1) et bilans manquants",
)


class BilanFilterSchema(ma.Schema):
    year = ma.fields.Integer(required=True, validate=ma.validate.Range(2000, 2100))
    status = ma.fields.String(validate=ma.validate.OneOf(["issued", "missing", "pending"]))
    departement = ma.fields.String(validate=ma.validate.Length(max=3))


class BilanSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True)
    year = ma.fields.Integer()
    landlord = ma.fields.Dict()
    reserver = ma.fields.Dict()
    departement = ma.fields.String()
    status = ma.fields.String(
        metadata={
            "description": "issued (émis), missing (non émis après le 28 février) ou pending "
            "(non émis, échéance à venir)"
        }
    )
    issued_at = ma.fields.DateTime(allow_none=True)
    issued_on = ma.fields.Date(allow_none=True, metadata={"description": "Date d'émission"})
    late = ma.fields.Boolean(metadata={"description": "émis après le 28 février"})
    deadline = ma.fields.Date()
    content_hash = ma.fields.String(allow_none=True, metadata={"description": "SHA-256"})
    filename = ma.fields.String(allow_none=True)


@blp.route("")
class Bilans(MethodView):
    @blp.arguments(BilanFilterSchema, location="query")
    @blp.response(200, BilanSchema(many=True))
    def get(self, filters):
        """Par bailleur × département × réservataire ayant une convention dans l'année (ou
        EPCI soumis à la réforme des attributions l'année, ou EPT, ayant des logements du
        bailleur sur son territoire : R.441-5-1) : le
        bilan émis (date, empreinte SHA-256 de son PDF) ou `missing`. `status=missing` donne,
        après le 28 février, la liste des bilans non émis. Chacun voit ses paires ; la
        préfecture celles de son département."""
        rows = bilan_campaign.status(db.session, current_actor(), filters["year"])
        return [
            row
            for row in rows
            if ("status" not in filters or row["status"] == filters["status"])
            and ("departement" not in filters or row["departement"] == filters["departement"])
        ]


@blp.route("/<int:report_id>")
class Bilan(MethodView):
    @blp.response(200, content_type="application/pdf", description="Le PDF émis, à l'octet près")
    @blp.alt_response(404, description="Bilan introuvable")
    def get(self, report_id):
        """Le bilan tel qu'il a été émis (ses octets ont l'empreinte `content_hash`)."""
        report = bilan_campaign.content(db.session, current_actor(), report_id)
        if report is None:
            raise NotFound(f"Bilan {report_id} introuvable.")
        return Response(
            report.content,
            mimetype=report.media_type,
            headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
        )
