"""Settings: layering, and no production start without a secret key of its own."""

from __future__ import annotations

import pytest

from flux import create_app
from flux.settings import DEVELOPMENT_SECRET, SettingsError, load_settings


def test_the_toml_file_overrides_the_defaults():
    assert load_settings({"ENV": "test"})["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024


def test_environment_variables_override_the_toml_file(monkeypatch):
    monkeypatch.setenv("FLUX_MAX_CONTENT_LENGTH", "1234")
    monkeypatch.setenv("FLUX_DATABASE_URL", "sqlite:///elsewhere.sqlite")
    settings = load_settings({"ENV": "test"})
    assert settings["MAX_CONTENT_LENGTH"] == 1234
    assert settings["DATABASE_URL"] == "sqlite:///elsewhere.sqlite"


@pytest.mark.parametrize("secret", [None, "", DEVELOPMENT_SECRET])
def test_production_refuses_to_start_without_its_own_secret(monkeypatch, secret):
    monkeypatch.delenv("FLUX_SECRET_KEY", raising=False)
    overrides = {"ENV": "production", "DATABASE_URL": "sqlite://"}
    if secret is not None:
        overrides["SECRET_KEY"] = secret
    with pytest.raises(SettingsError, match="FLUX_SECRET_KEY"):
        create_app(overrides)


def test_production_starts_with_a_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLUX_SECRET_KEY", "a-real-secret-of-this-server")
    app = create_app({"ENV": "production", "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == "a-real-secret-of-this-server"


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("false", False), ("oui", True)])
def test_r441_5_1_every_reservers_rows_in_each_bilan_by_default_or_as_set(
    monkeypatch, value, expected
):
    """R.441-5-1 (the bilan "par réservataire" to every reserver): BILAN_EVERY_RESERVER is on
    unless FLUX_BILAN_EVERY_RESERVER says otherwise."""
    monkeypatch.delenv("FLUX_BILAN_EVERY_RESERVER", raising=False)
    if value is not None:
        monkeypatch.setenv("FLUX_BILAN_EVERY_RESERVER", value)
    assert load_settings({"ENV": "test"})["BILAN_EVERY_RESERVER"] is expected


def test_the_import_size_limit_from_the_environment_is_a_number(monkeypatch):
    """FLUX_IMPORT_MAX_BYTES (README, « Configuration ») is compared with the request's length:
    read as text it made every import a 500."""
    assert load_settings({"ENV": "test"})["IMPORT_MAX_BYTES"] == 512 * 1024 * 1024
    monkeypatch.setenv("FLUX_IMPORT_MAX_BYTES", "1000")
    assert load_settings({"ENV": "test"})["IMPORT_MAX_BYTES"] == 1000
