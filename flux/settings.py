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
}

# Environment variables with these suffixes are parsed as integers.
_INTEGER_KEYS = {"MAX_CONTENT_LENGTH", "PERMANENT_SESSION_LIFETIME"}


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
            settings[key] = int(value) if key in _INTEGER_KEYS else value
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
