"""The prefecture's pages: the département's console, the État's conventions."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for

from flux import clock
from flux.db import db
from flux.domain.conventions import parse_percent
from flux.domain.errors import DomainError
from flux.domain.reference import Role
from flux.services import conventions, desk
from flux.services.errors import InvalidInput, ServiceError

from ..bailleur.views import message_of
from ..blueprint import bp
from ..reservataire.views import year_arg


def _prefecture_only() -> None:
    if g.actor.role not in (Role.PREFECTURE, Role.ADMIN):
        abort(404)


@bp.route("/prefecture/console")
def prefecture_console():
    _prefecture_only()
    today = clock.today()
    year = year_arg(today.year - 1 if today.month <= 2 else today.year)
    view = desk.console(db.session, g.actor, year, today)
    return render_template(
        "prefecture/console.html",
        c=view,
        years=range(2025, today.year + 1),
        departement=g.actor.departement,
    )


ETAT_SHARES = (
    ("prioritaires", "Publics prioritaires", "prioritaires"),
    ("agents", "Agents civils et militaires de l'État", "agents_etat"),
)


@bp.route("/prefecture/conventions", methods=["GET", "POST"])
def prefecture_conventions():
    _prefecture_only()
    problem = None
    if request.method == "POST":
        problem = _create()
        if problem is None:
            return redirect(url_for("web.prefecture_conventions"))
    rows = desk.etat_conventions(db.session, g.actor)
    return render_template(
        "prefecture/conventions.html",
        conventions=rows,
        landlords=desk.landlords(db.session),
        problem=problem,
        failed=request.form.get("convention") if request.method == "POST" else None,
        form=request.form,
        today=clock.today(),
    ), (422 if problem else 200)


def _percent(name: str) -> int:
    try:
        return parse_percent(request.form.get(name, "").replace(",", "."))
    except ValueError as error:
        raise InvalidInput(str(error)) from error


def _date(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError as error:
        raise InvalidInput("Date invalide : choisissez un jour (AAAA-MM-JJ).") from error


def _create() -> str | None:
    try:
        data = {
            "reference": request.form.get("reference", "").strip()[:100],
            "landlord": request.form.get("landlord", ""),
            "reserver": g.actor.organisation_id,
            "departement": g.actor.departement,
            "valid_from": _date("valid_from"),
            "perimeter": {"kind": "departement"},
            "shares": [
                {"code": code, "label": label, "percent": _percent(f"new-{code}"), "purpose": p}
                for code, label, p in ETAT_SHARES
            ],
        }
        if not data["reference"]:
            raise InvalidInput("La référence est obligatoire.")
        saved = conventions.create(db.session, g.actor, data)
    except (ServiceError, DomainError) as error:
        db.session.rollback()
        return message_of(error)
    db.session.commit()
    flash(_saved_message("Convention créée.", saved.warnings))
    return None


@bp.route("/prefecture/conventions/<int:convention_id>/avenant", methods=["POST"])
def prefecture_amend(convention_id: int):
    _prefecture_only()
    convention = conventions.get(db.session, g.actor, convention_id)  # 404 if not visible
    try:
        revision = int(request.form.get("revision", "0") or 0)
        shares = [
            {
                "code": terms.share.code,
                "label": terms.label,
                "percent": _percent(f"share-{terms.share_id}"),
                "purpose": terms.share.purpose,
                "guarantee_backed": terms.guarantee_backed,
                "ends_on": terms.ends_on,
            }
            for terms in convention.versions[-1].share_terms
        ]
        saved = conventions.amend(
            db.session,
            g.actor,
            convention_id,
            {"effective_from": _date("effective_from"), "shares": shares},
            revision,  # the revision the form was read at: If-Match, as in the API
        )
    except (ServiceError, DomainError, ValueError) as error:
        db.session.rollback()
        rows = desk.etat_conventions(db.session, g.actor)
        return render_template(
            "prefecture/conventions.html",
            conventions=rows,
            landlords=desk.landlords(db.session),
            problem=message_of(error) if not isinstance(error, ValueError) else str(error),
            failed=str(convention_id),
            form=request.form,
            today=clock.today(),
        ), (error.status if isinstance(error, ServiceError) else 422)
    db.session.commit()
    flash(_saved_message("Avenant enregistré.", saved.warnings))
    return redirect(url_for("web.prefecture_conventions"))


def _saved_message(done: str, warnings: list) -> str:
    if not warnings:
        return done
    texts = [getattr(w, "message", str(w)) for w in warnings]
    return f"{done} Avertissements : {' ; '.join(texts)}"
