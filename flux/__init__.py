"""Flux: gestion en flux des contingents de réservation de logements sociaux."""

from __future__ import annotations

from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the WSGI application (settings, database, API, CLI)."""
    from flux import api, web
    from flux.db import db, engine_options, harden
    from flux.services import notifications  # noqa: F401  (the outbox's flush hook)
    from flux.settings import load_settings

    settings = load_settings(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings)
    app.config["SQLALCHEMY_ENGINES"] = {"default": engine_options(settings["DATABASE_URL"])}
    db.init_app(app)
    # The extension also registers an async teardown for async sessions, which Flux never
    # opens: Flask runs it through asgiref, a new thread and event loop at the end of every
    # request (about a tenth of a POST's time in the profile). Only the sync one is kept.
    app.teardown_appcontext_funcs[:] = [
        f for f in app.teardown_appcontext_funcs if f.__name__ != "_close_async_sessions"
    ]
    with app.app_context():
        harden(db.engine)
    api.init_app(app)
    web.init_app(app)
    _operations(app)
    return app


def _operations(app: Flask) -> None:
    """App-level hooks for running in production: request ids and logs, login throttling,
    metrics, a proxy's client address."""
    from flux.api import throttling
    from flux.ops import logs, metrics

    logs.init_app(app)
    throttling.init_app(app)
    metrics.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
