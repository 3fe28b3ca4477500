"""Downloads every role shares: the bilan annuel on demand (four formats, with filters) and the
bilans the campaign issued. Access is the services' (reports.annual, bilan_campaign.content)."""

from __future__ import annotations

from flask import Response, abort, g, request

from flux import clock
from flux.db import db
from flux.reporting import render
from flux.services import bilan_campaign, reports

from .blueprint import bp

FORMATS = ("pdf", "xlsx", "csv", "json")


@bp.route("/bilan-annuel")
def annual_report():
    fmt = request.args.get("format", "pdf")
    year = request.args.get("annee", "")
    if fmt not in FORMATS or not (year.isdigit() and 2000 <= int(year) <= 2100):
        abort(404)
    query = reports.ReportQuery(
        year=int(year),
        landlord=_ref("bailleur"),
        reserver=_ref("reservataire"),
        departement=request.args.get("departement") or None,
    )
    report = reports.annual(db.session, g.actor, query, clock.today())
    if fmt == "json":
        import json

        body = json.dumps(render.to_json(report), ensure_ascii=False, default=str)
        return Response(body, mimetype="application/json")
    rendered = render.render(report, fmt)
    return Response(
        rendered.content,
        content_type=rendered.media_type,
        headers={"Content-Disposition": f'attachment; filename="{rendered.filename}"'},
    )


def _ref(name: str) -> int | str | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 10 else value


@bp.route("/bilans/<int:report_id>")
def issued_bilan(report_id: int):
    report = bilan_campaign.content(db.session, g.actor, report_id)
    if report is None:
        abort(404)
    return Response(
        report.content,
        mimetype=report.media_type,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )
