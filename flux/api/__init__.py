"""The HTTP API under /api/v1 (flask-smorest): blueprints, docs, errors, authentication."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Flask, send_from_directory

from flux import __version__

from . import auth, inputs, messages, problems, security, transactions  # noqa: F401
from .alerts.routes import blp as alerts_blp
from .balances.routes import blp as balances_blp
from .bilans.routes import blp as bilans_blp
from .conventions.routes import blp as conventions_blp
from .deduction_forecasts.routes import blp as deduction_forecasts_blp
from .dwellings.routes import blp as dwellings_blp
from .health.routes import blp as health_blp
from .imports.routes import blp as imports_blp
from .job_runs.routes import blp as job_runs_blp
from .journal.routes import blp as journal_blp
from .notifications.routes import blp as notifications_blp
from .organisations.routes import blp as organisations_blp
from .reports.routes import blp as reports_blp
from .scopes.routes import blp as scopes_blp
from .territories.routes import blp as territories_blp
from .users.routes import blp as users_blp
from .vacancies.routes import blp as vacancies_blp

PREFIX = "/api/v1"
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
STATIC = Path(__file__).parent / "static"
DOCS_PAGE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Flux — API</title>
<link rel="stylesheet" href="{prefix}/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{prefix}/openapi.json"></div>
<script src="{prefix}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{prefix}/docs/assets/docs-init.js"></script>
</body>
</html>
"""
BLUEPRINTS = [
    health_blp,
    territories_blp,
    organisations_blp,
    dwellings_blp,
    conventions_blp,
    vacancies_blp,
    imports_blp,
    balances_blp,
    deduction_forecasts_blp,
    reports_blp,
    scopes_blp,
    users_blp,
    journal_blp,
    alerts_blp,
    job_runs_blp,
    bilans_blp,
    notifications_blp,
]

API_DESCRIPTION = """\
API de Flux : gestion en flux des contingents de réservation de logements sociaux.

Authentification : `Authorization: Bearer <jeton>` sur tous les points d'accès sauf
`/health` et la documentation. Les erreurs sont des documents *problem details*
(RFC 9457, `application/problem+json`). Les pourcentages sont des chaînes à deux
décimales (`"25.00"`), les dates au format ISO 8601.
"""


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Flux",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    assets = Blueprint("docs_assets", __name__)

    @assets.route(f"{PREFIX}/docs/assets/<path:filename>", endpoint="asset")
    def _asset(filename: str):  # served locally: the docs must work without internet
        if filename == "docs-init.js":
            return send_from_directory(STATIC, filename)
        return send_from_directory(SWAGGER_UI, filename)

    @assets.route(f"{PREFIX}/docs", endpoint="page")
    def _page():  # our own page: no inline script, so a strict CSP holds
        return DOCS_PAGE.format(prefix=PREFIX)

    app.register_blueprint(assets)
    app.json.ensure_ascii = False  # plain UTF-8 ("Salariés", not "Salari\\u00e9s"), as problems
    transactions.install_converter(app)
    inputs.install_converters(app)
    api = problems.FluxApi(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=f"{PREFIX}{blueprint.url_prefix or ''}")
    problems.register(app)
    auth.register(app)
    security.register(app)
    transactions.register(app)
