"""Sign-in, sign-out, one's own password, and `/` sending each user to its home page."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for

from flux.db import db
from flux.services import desk, users
from flux.services.errors import InvalidInput, Unauthenticated

from . import home_of
from .blueprint import bp
from .forms import PasswordForm, SignInForm

FAILED = "Adresse électronique ou mot de passe incorrect."


@bp.route("/")
def home():
    return redirect(home_of(g.actor.role))


@bp.route("/connexion", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        try:
            issued = users.login(db.session, form.email.data.strip(), form.password.data)
        except Unauthenticated:
            db.session.rollback()
            error = FAILED  # the same words for an unknown address and a wrong password
        else:
            db.session.commit()
            session.clear()
            session.permanent = True
            session["token"] = issued.token
            session["token_id"] = issued.token_id
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
    status = 401 if error else 200
    return render_template("compte/connexion.html", form=form, error=error), status


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (never another host) after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/deconnexion", methods=["POST"])
def sign_out():
    token_id = session.get("token_id")
    if token_id is not None:
        users.revoke(db.session, g.actor, int(token_id))  # the cookie is worthless from now on
        db.session.commit()
    session.clear()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("web.sign_in"))


@bp.route("/compte", methods=["GET", "POST"])
def account():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            desk.change_own_password(db.session, g.actor, form.current.data, form.new.data)
        except InvalidInput as error:
            db.session.rollback()
            form.current.errors = [error.detail]
        else:
            db.session.commit()
            flash("Votre mot de passe a été changé.")
            return redirect(url_for("web.account"))
    me = desk.account(db.session, g.actor)
    return render_template("compte/compte.html", form=form, me=me)
