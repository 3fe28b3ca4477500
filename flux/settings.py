"""Settings: defaults in code, then config/<env>.toml, then FLUX_* environment variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"

# Refused as SECRET_KEY in production: the value committed for development.
DEVELOPMENT_SECRET = "dev-only-not-secret"

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DATABASE_URL": f"sqlite:///{PROJECT_ROOT / 'instance' / 'flux.sqlite'}",
    "SECRET_KEY": DEVELOPMENT_SECRET,
    "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
    # The pages' session cookie (flux/web): unreadable by scripts, not sent on cross-site
    # posts, and as long-lived as the sign-in token it carries (12 hours).
    "SESSION_COOKIE_NAME": "flux_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    # JSON bodies: refused above this size (413) or nesting depth (400) before parsing.
    "JSON_MAX_BYTES": 1024 * 1024,
    "JSON_MAX_DEPTH": 32,
    # Seconds a client is told to wait (Retry-After) when the database does not answer (503).
    "RETRY_AFTER_SECONDS": 5,
    # Login throttling (per process: see flux/api/throttling.py); Flask-Limiter's notation.
    "LOGIN_THROTTLING": True,
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute; 20 per hour",
    "LOGIN_LIMIT_PER_ADDRESS": "30 per minute; 300 per hour",
    # Logs: "text" or "json" (one object per line, with the request id); LOG_REQUESTS adds one
    # access line per request (logger flux.access).
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    "LOG_REQUESTS": False,
    # /metrics: this bearer token (or an administrator's API token) may scrape; empty: admins only.
    "METRICS_TOKEN": "",
    # Reverse proxies in front of the service whose X-Forwarded-For is trusted (0: none).
    "TRUSTED_PROXIES": 0,
    # R.441-5-1: the landlord sends "à l'ensemble des réservataires un bilan [...] par
    # réservataire". True: a reserver's bilan shows every reserver's rows of its landlord (not
    # the landlord's own part); False: only its own rows (README « Bilan annuel »).
    "BILAN_EVERY_RESERVER": True,
    # Seconds a process keeps a verified bearer token in memory (0: read it at every request).
    # A token revoked (or a user changed) through another process may still be accepted by this
    # one for at most that long; a change made through this process forgets at once.
    "TOKEN_CACHE_SECONDS": 5,
    # Largest file the vacancies' and dwellings' imports accept (spooled to disk, then read
    # row by row), in bytes.
    "IMPORT_MAX_BYTES": 512 * 1024 * 1024,
}

# Environment variables with these suffixes are parsed as integers.
_BOOLEAN_KEYS = {"LOGIN_THROTTLING", "LOG_REQUESTS", "BILAN_EVERY_RESERVER"}
_INTEGER_KEYS = {
    "MAX_CONTENT_LENGTH",
    "TOKEN_CACHE_SECONDS",
    "PERMANENT_SESSION_LIFETIME",
    "JSON_MAX_BYTES",
    "JSON_MAX_DEPTH",
    "RETRY_AFTER_SECONDS",
    "TRUSTED_PROXIES",
    "IMPORT_MAX_BYTES",
}


class SettingsError(RuntimeError):
    """The configuration cannot be used (message in French, shown to operators)."""


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, the environment's TOML file, FLUX_* variables and explicit overrides."""
    settings = dict(DEFAULTS)
    env = (overrides or {}).get("ENV") or os.environ.get("FLUX_ENV") or settings["ENV"]
    settings["ENV"] = env
    toml_file = CONFIG_DIR / f"{env}.toml"
    if toml_file.exists():
        with toml_file.open("rb") as handle:
            settings.update({key.upper(): value for key, value in tomllib.load(handle).items()})
    for name, value in os.environ.items():
        if name.startswith("FLUX_") and name != "FLUX_ENV":
            key = name.removeprefix("FLUX_")
            if key in _INTEGER_KEYS:
                settings[key] = int(value)
            elif key in _BOOLEAN_KEYS:
                settings[key] = value.strip().lower() in ("1", "true", "yes", "oui")
            else:
                settings[key] = value
    settings.update(overrides or {})
    # Over HTTPS only in production (development and tests are served over plain HTTP).
    settings.setdefault("SESSION_COOKIE_SECURE", settings["ENV"] == "production")
    _check(settings)
    return settings


def _check(settings: dict[str, Any]) -> None:
    if settings["ENV"] == "production" and settings.get("SECRET_KEY") in (
        None,
        "",
        DEVELOPMENT_SECRET,
    ):
        raise SettingsError(
            "Configuration de production refusée : FLUX_SECRET_KEY est absente ou vaut la valeur "
            "de développement. Définissez une clé secrète propre à ce serveur."
        )
