"""The backup drill (issue 15, item 2): dump a database with conventions, vacancies and
journal, restore it into a new database with `flux restore`, and get identical API answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flux import create_app
from flux.cli import main
from flux.db import db
from flux.services import allocation_book, scope_conventions

from .api.seeded_world import seed
from .conftest import ON_POSTGRES, PG_URL, create_database

# What several callers read: lists, balances, the journal, a report.
READS = [
    ("admin", "/api/v1/organisations"),
    ("admin", "/api/v1/conventions"),
    ("admin", "/api/v1/dwellings?page_size=100"),
    ("admin", "/api/v1/vacancies"),
    ("admin", "/api/v1/journal"),
    ("admin", "/api/v1/balances?as_of=2025-06-30"),
    ("landlord-A", "/api/v1/balances?as_of=2025-12-31"),
    ("reserver-X", "/api/v1/conventions"),
    ("prefecture-31", "/api/v1/reports/annual?year=2025"),
]


def _answers(url: str, world) -> list[tuple[int, str]]:
    allocation_book.clear_cache()
    scope_conventions.clear_cache()
    app = create_app({"ENV": "test", "DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    answers = []
    for caller, path in READS:
        response = client.get(path, headers=world.headers(caller))
        answers.append((response.status_code, response.get_data(as_text=True)))
    with app.app_context():
        db.engine.dispose()
    return answers


def _flux(url: str, *args: str, monkeypatch) -> None:
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", url)
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture
def restored_url(tmp_path: Path) -> str:
    if ON_POSTGRES:
        return create_database(sa.engine.make_url(PG_URL).database + "_restored")
    return f"sqlite:///{tmp_path / 'restored' / 'flux.sqlite'}"


def test_a_backup_restored_into_a_new_database_answers_the_same(
    app, database_url, restored_url, tmp_path, monkeypatch
):
    with app.app_context():  # popped before the commands run: they open their own app
        world = seed(db.session)
        db.session.close()
    before = _answers(database_url, world)
    assert all(status == 200 for status, _ in before), before
    backup = tmp_path / "flux.backup"

    _flux(database_url, "backup", str(backup), monkeypatch=monkeypatch)
    _flux(restored_url, "restore", str(backup), monkeypatch=monkeypatch)

    assert _answers(restored_url, world) == before


def test_restore_refuses_a_database_that_is_not_empty(database_url, tmp_path, monkeypatch):
    backup = tmp_path / "flux.backup"
    _flux(database_url, "backup", str(backup), monkeypatch=monkeypatch)
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)

    result = CliRunner().invoke(main, ["restore", str(backup)])

    assert result.exit_code == 1
    assert "n'est pas vide" in result.output
