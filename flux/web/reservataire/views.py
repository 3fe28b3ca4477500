"""The reserver's pages: its rights as of a date with the monthly chart, the dwellings awaiting
its candidates, its bilans."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, g, render_template, request

from flux import clock
from flux.db import db
from flux.domain.reference import Role
from flux.services import bilan_campaign, desk

from ..blueprint import bp
from ..charts import cumulative_svg
from ..forms import AsOfForm

CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # matplotlib's SVG styles itself


def _reserver_only() -> None:
    if g.actor.role not in (Role.RESERVER, Role.ADMIN):
        abort(404)


def year_arg(default: int) -> int:
    value = request.args.get("annee", "")
    return int(value) if value.isdigit() and 2000 <= int(value) <= 2100 else default


@bp.route("/reservataire/droits")
def reservataire_rights():
    _reserver_only()
    form = AsOfForm(request.args)
    form.validate()
    as_of = _as_of()
    if form.as_of.data is None:
        form.as_of.data = as_of
    figures = desk.rights(db.session, g.actor, as_of)
    series = desk.monthly(db.session, g.actor, as_of.year, as_of)
    return render_template(
        "reservataire/droits.html", form=form, rights=figures, series=series, as_of=as_of
    )


@bp.route("/reservataire/droits/graphique/<int:share_id>.svg")
def reservataire_chart(share_id: int):
    _reserver_only()
    as_of = _as_of()
    rows = desk.monthly(db.session, g.actor, as_of.year, as_of, share=share_id)
    if not rows:
        abort(404)  # not one of the caller's shares
    row = rows[0]
    title = f"{row['label']} — {row['landlord_name']} ({as_of.year})"
    response = Response(cumulative_svg(title, row["months"]), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_CSP
    return response


def _as_of() -> date:
    """The date asked for (`au`), today if absent, invalid or in the future."""
    today = clock.today()
    try:
        asked = date.fromisoformat(request.args.get("au", ""))
    except ValueError:
        return today
    return min(asked, today)


@bp.route("/reservataire/a-pourvoir")
def reservataire_to_fill():
    _reserver_only()
    today = clock.today()
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    listing = desk.open_vacancies(
        db.session, g.actor, desk.DeskFilters(awaiting_me=True, page=min(page, 10_000)), today
    )
    return render_template(
        "reservataire/a_pourvoir.html", desk=listing, today=today, args=request.args
    )


@bp.route("/reservataire/bilans")
def reservataire_bilans():
    _reserver_only()
    today = clock.today()
    year = year_arg(today.year - 1)
    rows = bilan_campaign.status(db.session, g.actor, year)
    return render_template(
        "reservataire/bilans.html", rows=rows, year=year, years=range(2025, today.year + 1)
    )
