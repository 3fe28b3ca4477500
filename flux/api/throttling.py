"""Login throttling (Flask-Limiter): per account and per client address.

Storage is in memory, per process: with gunicorn's N workers an address or an account gets at
most N times the limits below before every worker refuses it (the README says so). Only failed
logins count against an account, so its owner is not locked out by their own successes; every
attempt counts against an address. A refused login is a 429 problem with Retry-After.
"""

from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

LOGIN_ENDPOINT = "users.Login"


def _account() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"account:{email.strip().lower()}" if isinstance(email, str) else "account:?"


def _failed(response) -> bool:
    return response.status_code == 401


def init_app(app: Flask) -> Limiter:
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri="memory://",
        strategy="moving-window",
        headers_enabled=True,
        enabled=app.config["LOGIN_THROTTLING"],
    )
    view = app.view_functions[LOGIN_ENDPOINT]
    view = limiter.limit(app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])(view)
    view = limiter.limit(
        app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        key_func=_account,
        methods=["POST"],
        deduct_when=_failed,
    )(view)
    app.view_functions[LOGIN_ENDPOINT] = view
    return limiter
