"""The landlord's pages: the desk, declaring a freed dwelling, a vacancy, stock, conventions."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for

from flux import clock
from flux.db import db
from flux.domain.errors import DomainError
from flux.domain.reference import Letting, Role
from flux.services import desk, dwelling_search, vacancies, vacancy_events
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
        form.rpls_id.data = form.rpls_id.data or request.args.get("rpls", "")[:100]
        wanted = _int_arg("logement")  # from Patrimoine's list
        found = dwelling_search.one(db.session, g.actor, wanted) if wanted else None
        if found is not None:
            form.rpls_id.data = found.dwelling.rpls_id
    problem = None
    if form.validate_on_submit():
        picked = _dwelling_of(form)
        if picked is not None:
            try:
                logged = vacancies.log_vacancy(
                    db.session,
                    g.actor,
                    NewVacancy(
                        available_on=form.available_on.data,
                        dwelling_id=picked,
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


def _dwelling_of(form: DeclareForm) -> int | None:
    """The dwelling the typed reference designates (the one chosen among several); otherwise
    None, with the reason on the field (none found, too many, several to choose from)."""
    reference = form.rpls_id.data.strip()
    found = dwelling_search.candidates(db.session, g.actor, reference)
    limit = dwelling_search.MAX_CHOICES
    chosen = [f for f in found if str(f.dwelling.id) == (form.dwelling.data or "")]
    if chosen:
        return chosen[0].dwelling.id
    if len(found) == 1:
        return found[0].dwelling.id
    if not found:
        form.rpls_id.errors = [
            f"Aucun de vos logements ne correspond à « {reference} » : vérifiez le numéro "
            "RPLS ou l'adresse (voir Patrimoine)."
        ]
    elif len(found) > limit:
        form.rpls_id.errors = [
            f"Plus de {limit} logements correspondent à « {reference} » : précisez le numéro "
            "RPLS ou l'adresse."
        ]
    else:
        form.dwelling.choices = options(
            (str(f.dwelling.id), _dwelling_label(f, g.actor.is_admin)) for f in found
        )
        form.dwelling.errors = [
            f"{len(found)} logements correspondent à « {reference} » : choisissez le bon."
        ]
    return None


def _dwelling_label(found: dwelling_search.Found, with_landlord: bool) -> str:
    d = found.dwelling
    parts = [d.rpls_id, d.address or "adresse non renseignée", found.commune]
    if with_landlord:
        parts.append(found.landlord)
    return " — ".join(parts)


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
