"""Server-rendered French pages for landlords, reservers, prefecture staff and admins.

Thin like the API: each view gathers what its page shows from the services (the same calls as
the API) and renders a template. Sign-in is required everywhere but the sign-in page and the
static files; every POST carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

import dataclasses
import uuid

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from flux.db import begin_immediate, db
from flux.domain.errors import DomainError
from flux.domain.reference import Role
from flux.services.errors import ServiceError
from flux.services.users import actor_for_token

from .blueprint import bp

csrf = CSRFProtect()

PUBLIC_ENDPOINTS = {"web.sign_in", "web.static"}
# The pages load their own stylesheet and images only: no script, no inline style.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def init_app(app: Flask) -> None:
    # The API (bearer tokens, no cookie) is not a CSRF target: the pages ask for the check.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's lifetime bounds it
    csrf.init_app(app)
    from . import account, admin, bailleur, prefecture, reports, reservataire  # noqa: F401
    from .templating import install as install_templating

    install_templating(app)
    app.register_blueprint(bp)


def current_actor():
    return g.actor


@bp.before_request
def _sign_in_required() -> Response | None:
    if request.method == "POST":
        csrf.protect()  # raises CSRFError (400) without a valid token
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    secret = session.get("token")
    actor = actor_for_token(db.session, secret) if secret else None
    if actor is None:
        session.clear()
        return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
    g.actor = dataclasses.replace(actor, request_id=uuid.uuid4().hex)
    db.session.info["actor"] = g.actor
    if request.method == "POST":
        begin_immediate(db.session)  # as the API's writes: take SQLite's write lock first
    return None


@bp.after_request
def _page_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    if request.endpoint != "web.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(status: int, title: str, detail: str) -> tuple[str, int]:
    db.session.rollback()
    return render_template("error.html", status=status, title=title, detail=detail), status


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    return _error_page(
        400,
        "Formulaire expiré ou invalide",
        "Le formulaire n'a pas pu être vérifié (jeton de sécurité absent ou expiré). "
        "Revenez à la page précédente, rechargez-la et envoyez-le de nouveau.",
    )


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError):
    return _error_page(error.status, error.title, error.detail)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return _error_page(422, "Règle de gestion non respectée", getattr(error, "message", str(error)))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    titles = {404: "Page introuvable", 403: "Accès refusé", 405: "Méthode non permise"}
    return _error_page(
        error.code or 500,
        titles.get(error.code or 500, "Erreur"),
        "La page demandée n'existe pas ou ne vous est pas accessible."
        if error.code == 404
        else (error.description or ""),
    )


HOMES = {
    Role.LANDLORD: "web.bailleur_desk",
    Role.RESERVER: "web.reservataire_rights",
    Role.PREFECTURE: "web.prefecture_console",
    Role.ADMIN: "web.admin_users",
}


def home_of(role: Role) -> str:
    return url_for(HOMES[role])
