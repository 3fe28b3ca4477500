"""The administrator's pages: users and organisations."""

from __future__ import annotations

import marshmallow as ma
from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload

from flux.api.organisations.schemas import OrganisationSchema
from flux.db import db
from flux.domain.reference import Role
from flux.models import User
from flux.services import desk, organisations, users
from flux.services.errors import ServiceError
from flux.services.organisations import NewOrganisation

from ..blueprint import bp
from ..forms import (
    RESERVER_CATEGORY_LABELS,
    ConfirmForm,
    NewUserForm,
    OrganisationForm,
    RenameOrganisationForm,
    ResetPasswordForm,
    options,
)

# The API's own schema: the page checks a new organisation exactly as POST /organisations.
_ORGANISATION = OrganisationSchema()


def _admin_only() -> None:
    if g.actor.role is not Role.ADMIN:
        abort(404)


def _new_user_form() -> NewUserForm:
    form = NewUserForm()
    kinds = {"landlord": "bailleur", "reserver": "réservataire"}
    form.organisation.choices = options(
        [("", "Aucune (administrateur seulement)")]
        + [
            (o.code, f"{o.name} ({kinds.get(str(o.kind), o.kind)}, {o.code})")
            for o in desk.organisation_list(db.session)
        ]
    )
    if request.method == "GET" and request.args.get("organisation"):
        form.organisation.data = request.args["organisation"]  # from an organisation's page
    return form


@bp.route("/admin/utilisateurs", methods=["GET", "POST"])
def admin_users():
    _admin_only()
    form = _new_user_form()
    problem = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            created = users.create_user(
                db.session,
                email=form.email.data.strip(),
                role=Role(form.role.data),
                org_code=form.organisation.data or None,
                password=form.password.data,
                can_write=not form.read_only.data,
                token_label="api",
            )
        except ServiceError as error:
            db.session.rollback()
            problem = error.detail
        else:
            db.session.commit()
            flash(f"Utilisateur {created.email} créé.")
            return redirect(url_for("web.admin_users"))
    listing = users.list_users(db.session, g.actor).options(selectinload(User.organisation))
    rows = list(db.session.scalars(listing))  # the organisations in one statement, not per row
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/utilisateurs.html", form=form, rows=rows, problem=problem, confirm=ConfirmForm()
    ), status


@bp.route("/admin/utilisateurs/<int:user_id>", methods=["GET", "POST"])
def admin_user(user_id: int):
    _admin_only()
    user = users.get_user(db.session, g.actor, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        desk.reset_password(db.session, g.actor, user_id, form.password.data)
        db.session.commit()
        flash("Mot de passe changé.")
        return redirect(url_for("web.admin_user", user_id=user_id))
    tokens = users.tokens_of(db.session, g.actor, user_id)
    return render_template(
        "admin/utilisateur.html", user=user, form=form, tokens=tokens, confirm=ConfirmForm()
    )


@bp.route("/admin/utilisateurs/<int:user_id>/<action>", methods=["POST"])
def admin_user_action(user_id: int, action: str):
    _admin_only()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if action == "revoquer":
        count = desk.revoke_tokens(db.session, g.actor, user_id)
        message = f"{count} jeton(s) révoqué(s)."
    elif action in ("desactiver", "reactiver"):
        desk.set_active(db.session, g.actor, user_id, action == "reactiver")
        message = "Compte désactivé." if action == "desactiver" else "Compte réactivé."
    else:
        abort(404)
    db.session.commit()
    flash(message)
    return redirect(url_for("web.admin_user", user_id=user_id))


@bp.route("/admin/organisations", methods=["GET", "POST"])
def admin_organisations():
    _admin_only()
    form = OrganisationForm()
    problem = None
    if request.method == "POST" and form.validate_on_submit():
        created, problem = _create_organisation(form)
        if created:
            return redirect(url_for("web.admin_organisations"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/organisations.html",
        rows=desk.organisation_list(db.session),
        form=form,
        problem=problem,
        categories=RESERVER_CATEGORY_LABELS,
    ), status


# The schema's field names (its data keys) -> the form's fields.
_ORGANISATION_FIELDS = {"code": "code", "name": "name", "kind": "kind"}
_ORGANISATION_FIELDS |= {"category": "category", "territory": "territory"}


def _create_organisation(form: OrganisationForm) -> tuple[bool, str | None]:
    """Check with the API's schema, create with the API's service; the refusal's words go on the
    field they name (or are the page's message)."""
    raw = {
        "code": form.code.data.strip(),
        "name": form.name.data.strip(),
        "kind": form.kind.data,
        "category": form.category.data or None,
        "territory": (form.territory.data or "").strip() or None,
    }
    try:
        data = _ORGANISATION.load(raw)
        created = organisations.create(db.session, g.actor, NewOrganisation(**data))
    except ma.ValidationError as error:
        return False, _place(form, error.messages, "L'organisation n'a pas été créée.")
    except ServiceError as error:
        db.session.rollback()
        json_errors = (error.errors or {}).get("json") or {}
        return False, _place(form, json_errors, error.detail, error.detail)
    db.session.commit()
    flash(f"Organisation « {created.name} » ({created.code}) créée.")
    return True, None


def _place(form, messages, fallback: str, message: str | None = None) -> str | None:
    placed = False
    for name, texts in (messages or {}).items():
        target = getattr(form, _ORGANISATION_FIELDS.get(name, ""), None)
        if target is not None:
            target.errors = [message] if message else list(texts)
            placed = True
    return None if placed else fallback


@bp.route("/admin/organisations/<int:organisation_id>", methods=["GET", "POST"])
def admin_organisation(organisation_id: int):
    _admin_only()
    org = organisations.get(db.session, organisation_id)  # the API's GET /organisations/<id>
    form = RenameOrganisationForm()
    problem = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:  # the API's PATCH /organisations/<id>
                organisations.rename(db.session, g.actor, org.id, form.name.data)
            except ServiceError as error:
                db.session.rollback()
                problem = error.detail
            else:
                db.session.commit()
                flash(f"Organisation renommée « {org.name} ».")
                return redirect(url_for("web.admin_organisation", organisation_id=org.id))
    elif not form.name.data:
        form.name.data = org.name
    members = list(
        db.session.scalars(
            users.list_users(db.session, g.actor).where(User.organisation_id == org.id)
        )
    )
    return render_template(
        "admin/organisation.html",
        org=org,
        members=members,
        categories=RESERVER_CATEGORY_LABELS,
        form=form,
        problem=problem,
    ), (422 if request.method == "POST" else 200)
