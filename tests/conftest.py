"""Test fixtures: a real database per test (SQLite by default, PostgreSQL when
FLUX_TEST_DATABASE_URL names one), the app, and factories.

Under pytest-xdist (`make test` runs two workers) each worker has a PostgreSQL database of its
own, named after FLUX_TEST_DATABASE_URL's and the worker (`flux_ci_gw0`): created when the
worker starts, dropped with the databases derived from it when it ends. The demo is built once
per worker session and copied for each module that reads it (`demo_copy`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from flux import create_app, loaders
from flux.db import Base, create_engine, db
from flux.demo import DEMO_DIR
from flux.domain.reference import Role
from flux.migrate import upgrade
from flux.services import allocation_book, balances, scope_conventions, users

BASE_PG_URL = os.environ.get("FLUX_TEST_DATABASE_URL", "")
ON_POSTGRES = BASE_PG_URL.startswith("postgresql")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1"... under pytest-xdist


def derived_url(url: str, suffix: str) -> str:
    """The URL of the database named after `url`'s, with `_<suffix>` appended."""
    parsed = sa.engine.make_url(url)
    return parsed.set(database=f"{parsed.database}_{suffix}").render_as_string(hide_password=False)


# This process's PostgreSQL test database: the one named, or one per xdist worker.
PG_URL = derived_url(BASE_PG_URL, WORKER) if ON_POSTGRES and WORKER else BASE_PG_URL


def _admin_engine() -> sa.Engine:
    url = sa.engine.make_url(PG_URL).set(database="postgres")
    return create_engine(url.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT"
    )


_CREATED: list[str] = []  # databases this process created: dropped when its session ends


def create_database(name: str, template: str | None = None) -> str:
    """(Re)create a PostgreSQL database, empty or as a copy of `template` (no one connected
    to it); dropped at the end of the session. Returns its URL."""
    url = _create(name, template)
    if name not in _CREATED:
        _CREATED.append(name)
    return url


def _create(name: str, template: str | None = None) -> str:
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        for attempt in range(20):  # two workers copying one template at once may collide
            try:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
                break
            except sa.exc.OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.5)
        # A test database is thrown away: its commits need not wait for the disk (the
        # transactions' semantics are unchanged; only durability after a crash is given up).
        connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    admin.dispose()
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def pytest_sessionstart(session: pytest.Session) -> None:
    if ON_POSTGRES and WORKER:
        create_database(sa.engine.make_url(PG_URL).database)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not ON_POSTGRES:
        return
    names = list(reversed(_CREATED))
    _CREATED.clear()
    admin = _admin_engine()
    with admin.connect() as connection:
        if not WORKER:  # the run's last process: the demo templates the workers shared
            names += connection.scalars(
                sa.text("SELECT datname FROM pg_database WHERE starts_with(datname, :start)"),
                {"start": f"{BASE_NAME}_demo_"},
            ).all()
        for name in names:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


# Tests that never open the database under test (the rules in plain Python; `flux simulate`,
# which works in a temporary SQLite file of its own): the SQLite pass runs them, the PostgreSQL
# pass skips them rather than repeat them identically (FLUX_TEST_ALL=1 runs them anyway).
WITHOUT_DATABASE = ("tests/domain/", "tests/test_simulate.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_POSTGRES or os.environ.get("FLUX_TEST_ALL"):
        return
    skip = pytest.mark.skip(reason="sans base de données : exécuté par la passe SQLite")
    for item in items:
        if Path(item.path).relative_to(config.rootpath).as_posix().startswith(WITHOUT_DATABASE):
            item.add_marker(skip)


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


# The demo's activity runs to this date unless a module asks for another.
DEMO_UNTIL = date(2026, 11, 21)
BASE_NAME = sa.engine.make_url(BASE_PG_URL).database if ON_POSTGRES else ""


@pytest.fixture(scope="session")
def demo_copy(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple]:
    """demo_copy(activity_until=DEMO_UNTIL) -> (url, tokens): a database of its own holding the
    demo, and the demo users' tokens (valid in every copy).

    The demo (the slowest fixture: 6 000 dwellings and two years of activity) is built once
    per test run and activity date, by the first worker that needs it (the others wait on a
    file lock), then copied: a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL.
    """
    shared = tmp_path_factory.getbasetemp()
    if WORKER:  # xdist workers' base temps are siblings: their parent is the run's
        shared = shared.parent
    copies = itertools.count(1)

    def build(until: date, url: str) -> list:
        from flux import demo

        _clear_caches()
        app = create_app({"ENV": "test", "DATABASE_URL": url, "TESTING": True})
        with app.app_context():
            tokens = demo.load(db.session, activity_until=until)
            db.session.commit()
            db.session.close()
            db.engine.dispose()  # no one connected to a template; the SQLite file is whole
        _clear_caches()
        return [dataclasses.asdict(user) for user in tokens]

    def template(until: date) -> tuple[str, list]:
        """(SQLite file or PostgreSQL database name, tokens) of the run's demo template."""
        from flux.demo import DemoUser

        stem = f"demo-{until:%Y%m%d}"
        source = (
            f"{BASE_NAME}_demo_{until:%Y%m%d}" if ON_POSTGRES else str(shared / f"{stem}.sqlite")
        )
        ready = shared / f"{stem}.json"
        with (shared / f"{stem}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not ready.exists():
                if ON_POSTGRES:
                    url = _create(source)  # dropped by the run's last process (sessionfinish)
                    upgrade(url)
                else:
                    shutil.copyfile(_template, source)
                    url = f"sqlite:///{source}"
                ready.write_text(json.dumps(build(until, url)))
        return source, [DemoUser(**user) for user in json.loads(ready.read_text())]

    def copy(activity_until: date = DEMO_UNTIL) -> tuple[str, list]:
        source, tokens = template(activity_until)
        if ON_POSTGRES:
            name = f"{sa.engine.make_url(PG_URL).database}_demo_{next(copies)}"
            return create_database(name, template=source), tokens
        path = tmp_path_factory.mktemp("demo") / "flux.sqlite"
        shutil.copyfile(source, path)
        return f"sqlite:///{path}", tokens

    return copy


def _clear_caches() -> None:
    allocation_book.clear_cache()  # test databases are truncated or copied: ids are reused
    scope_conventions.clear_cache()
    balances.clear_cache()


# Emptying the test database between tests: DELETE, not TRUNCATE. A test writes a few rows;
# TRUNCATE makes new files for every table and index (about 0.2 to 2 s per test on this
# machine, most of the PostgreSQL pass), DELETE of a few rows costs milliseconds. Replica mode
# skips the append-only triggers and the foreign keys' (test clean-up only); the sequences
# restart at 1, as TRUNCATE ... RESTART IDENTITY did.
_EMPTY_ALL = "; ".join(
    [
        "SET LOCAL session_replication_role = replica",
        *(f'DELETE FROM "{table.name}"' for table in reversed(Base.metadata.sorted_tables)),
        "SELECT setval(s.oid, 1, false) FROM pg_class s "
        "JOIN pg_namespace n ON n.oid = s.relnamespace "
        "WHERE s.relkind = 'S' AND n.nspname = current_schema()",
    ]
)


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(_EMPTY_ALL)
    engine.dispose()


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> str:
    _clear_caches()
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
