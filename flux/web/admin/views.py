"""The administrator's pages: users and organisations."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from flux.db import db
from flux.domain.reference import Role
from flux.services import desk, users
from flux.services.errors import ServiceError

from ..blueprint import bp
from ..forms import ConfirmForm, NewUserForm, ResetPasswordForm, options


def _admin_only() -> None:
    if g.actor.role is not Role.ADMIN:
        abort(404)


def _new_user_form() -> NewUserForm:
    form = NewUserForm()
    form.organisation.choices = options(
        [("", "Aucune (administrateur)")]
        + [(o.code, o.name) for o in desk.organisation_list(db.session)]
    )
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
    rows = list(db.session.scalars(users.list_users(db.session, g.actor)))
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


@bp.route("/admin/organisations")
def admin_organisations():
    _admin_only()
    return render_template("admin/organisations.html", rows=desk.organisation_list(db.session))
