"""The landlord's pages: the desk, declaring a freed dwelling, a vacancy, stock, conventions."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for

from flux import clock
from flux.db import db
from flux.domain.errors import DomainError
from flux.domain.reference import Letting, Role
from flux.services import desk, vacancies, vacancy_events
from flux.services.errors import ServiceError
from flux.services.vacancies import NewVacancy

from ..blueprint import bp
from ..forms import EVENT_LABELS, DeclareForm, EventForm, event_payload, options


def _landlord_only() -> None:
    if g.actor.role not in (Role.LANDLORD, Role.ADMIN):
        abort(404)  # not a page of its menu


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.route("/bailleur/a-traiter")
def bailleur_desk():
    _landlord_only()
    filters = desk.DeskFilters(
        commune=request.args.get("commune") or None,
        reserver=_int_arg("reservataire"),
        stage=request.args.get("etape") or None,
        page=_int_arg("page") or 1,
    )
    today = clock.today()
    listing = desk.open_vacancies(db.session, g.actor, filters, today)
    return render_template(
        "bailleur/a_traiter.html", desk=listing, filters=filters, today=today, args=request.args
    )


@bp.route("/bailleur/declarer", methods=["GET", "POST"])
def bailleur_declare():
    _landlord_only()
    form = DeclareForm()
    if request.method == "GET":
        form.available_on.data = form.available_on.data or clock.today()
        form.rpls_id.data = form.rpls_id.data or request.args.get("rpls", "")
    problem = None
    if form.validate_on_submit():
        try:
            logged = vacancies.log_vacancy(
                db.session,
                g.actor,
                NewVacancy(
                    available_on=form.available_on.data,
                    rpls_id=form.rpls_id.data.strip(),
                    letting=Letting(form.letting.data),
                    deduction=form.deduction.data or None,
                ),
            )
        except (ServiceError, DomainError) as error:
            db.session.rollback()
            problem = _field_errors(form, error)
        else:
            db.session.commit()
            flash("Le logement libéré est enregistré.")
            return redirect(url_for("web.vacancy", vacancy_id=logged.vacancy_id))
    status = 422 if (problem or form.errors) and request.method == "POST" else 200
    return render_template("bailleur/declarer.html", form=form, problem=problem), status


def message_of(error: ServiceError | DomainError) -> str:
    return getattr(error, "detail", None) or getattr(error, "message", None) or str(error)


def _field_errors(form, error: ServiceError | DomainError) -> str | None:
    """Put a refusal on the form's field it names; otherwise it is the page's message."""
    fields = {"dwelling": "rpls_id", "rpls_id": "rpls_id", "available_on": "available_on"}
    names = set()
    for messages in (getattr(error, "errors", None) or {}).values():
        if isinstance(messages, dict):
            names |= set(messages)
    if getattr(error, "field", None):
        names.add(error.field)
    placed = False
    for name in names:
        target = getattr(form, fields.get(name, ""), None)
        if target is not None:
            target.errors = [message_of(error)]
            placed = True
    return None if placed else message_of(error)


@bp.route("/logements-liberes/<int:vacancy_id>")
def vacancy(vacancy_id: int):
    today = clock.today()
    page = desk.vacancy_page(db.session, g.actor, vacancy_id, today)
    forms = {kind: _event_form(page, kind, today) for kind in page["recordable"]}
    return render_template(
        "bailleur/logement.html", v=page, forms=forms, labels=EVENT_LABELS, today=today
    )


def _event_form(page: dict, kind: str, on: date, formdata=None) -> EventForm:
    form = EventForm(formdata=formdata, prefix=kind)
    form.type.choices = options([(kind, EVENT_LABELS.get(kind, kind))])
    form.type.data = kind
    form.share.choices = options(page["override_choices"])
    if formdata is None:
        form.date.data = on
    return form


@bp.route("/logements-liberes/<int:vacancy_id>/evenements", methods=["POST"])
def vacancy_event(vacancy_id: int):
    today = clock.today()
    kind = request.form.get("kind", "")
    page = desk.vacancy_page(db.session, g.actor, vacancy_id, today)
    if kind not in page["recordable"]:
        flash("Cet événement n'est pas possible à l'étape où se trouve le logement.")
        return redirect(url_for("web.vacancy", vacancy_id=vacancy_id)), 303
    form = _event_form(page, kind, today, request.form)
    problem = None
    if form.validate():
        data, missing = event_payload(form)
        for name, message in missing.items():
            getattr(form, name).errors = [message]
        if not missing:
            try:
                vacancy_events.record(db.session, g.actor, vacancy_id, data)
            except (ServiceError, DomainError) as error:
                db.session.rollback()
                problem = message_of(error)
            else:
                db.session.commit()
                flash(f"Enregistré : {EVENT_LABELS.get(kind, kind).lower()}.")
                return redirect(url_for("web.vacancy", vacancy_id=vacancy_id))
    forms = {k: _event_form(page, k, today) for k in page["recordable"]}
    forms[kind] = form
    return (
        render_template(
            "bailleur/logement.html",
            v=page,
            forms=forms,
            labels=EVENT_LABELS,
            today=today,
            problem=problem,
            failed=kind,
        ),
        422,
    )
