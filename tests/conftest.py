"""Test fixtures: a real database per test (SQLite by default, PostgreSQL when
FLUX_TEST_DATABASE_URL names one), the app, and factories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flux import create_app, loaders
from flux.db import Base, create_engine, db
from flux.demo import DEMO_DIR
from flux.domain.reference import Role
from flux.migrate import upgrade
from flux.services import allocation_book, balances, scope_conventions, users

PG_URL = os.environ.get("FLUX_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite file copied per test, or the PostgreSQL test database."""
    if ON_POSTGRES:
        engine = create_engine(PG_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "flux.sqlite"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        # replica mode skips the journal's append-only triggers: test clean-up only.
        connection.exec_driver_sql("SET session_replication_role = replica")
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> str:
    allocation_book.clear_cache()  # test databases are truncated: ids are reused
    scope_conventions.clear_cache()
    balances.clear_cache()
    if ON_POSTGRES:
        _truncate_postgres(_template)
        return _template
    path = tmp_path / "flux.sqlite"
    shutil.copyfile(_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url: str):
    application = create_app({"ENV": "test", "DATABASE_URL": database_url, "TESTING": True})
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app) -> Iterator[sa.orm.Session]:
    with app.app_context():
        yield db.session


@pytest.fixture
def territory(session) -> None:
    """The demo territory (Haute-Garonne, 20 communes, 3 EPCI, 10 QPV) and its organisations."""
    loaders.load_territory(session, DEMO_DIR / "territory.toml")
    loaders.load_organisations(session, DEMO_DIR / "organisations.toml")
    session.commit()


@pytest.fixture
def token_for(session):
    """token_for(role, org_code=None, read_only=False) -> a bearer token for a new user."""
    counter = iter(range(1, 10_000))

    def make(role: str, org_code: str | None = None, read_only: bool = False) -> str:
        created = users.create_user(
            session,
            email=f"user{next(counter)}@test.flux.example",
            role=Role(role),
            org_code=org_code,
            can_write=not read_only,
        )
        session.commit()
        return created.token

    return make


@pytest.fixture
def auth(token_for):
    """auth(role, org_code=None) -> request headers with a fresh bearer token."""

    def headers(role: str, org_code: str | None = None, read_only: bool = False) -> dict:
        return {"Authorization": f"Bearer {token_for(role, org_code, read_only)}"}

    return headers
