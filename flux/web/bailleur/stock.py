"""The landlord's stock and conventions pages."""

from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, request, url_for

from flux import clock
from flux.api.dwellings.schemas import DwellingSchema
from flux.db import db
from flux.domain.reference import DeductionCategory
from flux.services import conventions, deduction_forecasts, desk, dwelling_search, dwellings
from flux.services.errors import InvalidInput, ServiceError

from ..blueprint import bp
from ..forms import DEDUCTION_LABELS, AsOfForm, ImportForm
from .views import _int_arg, _landlord_only, message_of

# The API's own row schema: the page validates each CSV line exactly as POST /dwellings/import.
_ROW = DwellingSchema(exclude=("landlord",))


@bp.route("/bailleur/patrimoine", methods=["GET", "POST"])
def bailleur_dwellings():
    _landlord_only()
    form = ImportForm()
    report, row_errors, problem = None, [], None
    if form.validate_on_submit():
        content = io.BytesIO(form.file.data.read())  # a page's form: a small file
        try:
            report = dwellings.import_csv(db.session, g.actor, content, None, _ROW.load)
        except InvalidInput as error:
            db.session.rollback()
            problem = error.detail
            lines = (error.errors.get("files") or {}).get("file") or {}
            if isinstance(lines, dict):
                row_errors = [
                    (line, field, "; ".join(map(str, msgs)) if isinstance(msgs, list) else msgs)
                    for line, fields in sorted(lines.items(), key=lambda i: int(i[0]))
                    for field, msgs in (fields.items() if isinstance(fields, dict) else [])
                ]
        except ServiceError as error:
            db.session.rollback()
            problem = message_of(error)
        else:
            if form.dry_run.data:
                db.session.rollback()
            else:
                db.session.commit()
                flash("Patrimoine importé.")
    search = request.args.get("q", "")[:100]
    listing = dwelling_search.search(db.session, g.actor, search, _int_arg("page") or 1)
    status = 422 if problem else 200
    return render_template(
        "bailleur/patrimoine.html",
        form=form,
        report=report,
        dry_run=bool(form.dry_run.data),
        row_errors=row_errors,
        problem=problem,
        listing=listing,
        search=search,
        args=request.args,
    ), status


@bp.route("/bailleur/conventions", methods=["GET", "POST"])
def bailleur_conventions():
    _landlord_only()
    form = AsOfForm(request.args)
    form.validate()
    today = clock.today()
    as_of = min(form.as_of.data or today, today)
    form.as_of.data = as_of
    problem = None
    if request.method == "POST":
        problem = _declare_forecasts(today)
        if problem is None:
            return redirect(url_for("web.bailleur_conventions"))
    rows = list(db.session.scalars(conventions.query_visible(g.actor)))
    figures = desk.rights(db.session, g.actor, as_of, with_totals=False)
    forecasts = deduction_forecasts.visible(
        db.session, g.actor, deduction_forecasts.ForecastFilters(year=today.year)
    )
    return render_template(
        "bailleur/conventions.html",
        form=form,
        conventions=rows,
        rights=figures,
        as_of=as_of,
        forecasts=forecasts,
        categories=[(c.value, DEDUCTION_LABELS[c.value]) for c in DeductionCategory],
        year=today.year,
        departements=sorted({c.departement_code for c in rows}),
        problem=problem,
    ), (422 if problem else 200)


def _declare_forecasts(today) -> str | None:
    values = {}  # the CSRF token was checked before the view (flux/web/__init__.py)
    for category in DeductionCategory:
        raw = request.form.get(f"prevision-{category.value}", "").strip()
        if not raw.isdigit() or len(raw) > 6:
            return f"Prévision « {category.value} » : un nombre entier de logements est attendu."
        values[category.value] = int(raw)
    try:
        deduction_forecasts.declare(
            db.session,
            g.actor,
            deduction_forecasts.NewForecasts(
                departement=request.form.get("departement", ""),
                year=_int_field("annee") or today.year,
                forecasts=values,
            ),
        )
    except ServiceError as error:
        db.session.rollback()
        return message_of(error)
    db.session.commit()
    flash("Prévisions enregistrées.")
    return None


def _int_field(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() and len(value) < 6 else None
