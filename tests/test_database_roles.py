"""Two PostgreSQL roles (issue 15, item 5): the owner runs the migrations; the service runs
as a role that owns nothing, so it cannot change the schema, disable the journal's triggers
or rewrite the journal, yet can do all the service does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flux import create_app, loaders
from flux.db import create_engine, db
from flux.demo import DEMO_DIR
from flux.domain.reference import Role
from flux.migrate import grant_service_role, upgrade
from flux.services import users

from .api.vacancy_kit import OPH, TOULOUSE, action_logement, create_dwelling, logged
from .conftest import ON_POSTGRES, PG_URL, _admin_engine, create_database

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="database roles are PostgreSQL's")


@pytest.fixture
def roles():
    """(owner URL, service URL) on a new database owned by the owner role."""
    base = sa.engine.make_url(PG_URL)
    name = f"{base.database}_roles"
    owner, service = f"{base.database}_owner", f"{base.database}_service"
    admin = _admin_engine()
    create_database(name)
    with admin.connect() as connection:
        for role in (owner, service):
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
            connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        connection.exec_driver_sql(f'ALTER DATABASE "{name}" OWNER TO "{owner}"')
    as_owner = base.set(database=name, username=owner, password=None)
    as_service = base.set(database=name, username=service, password=None)
    yield (
        as_owner.render_as_string(hide_password=False),
        as_service.render_as_string(hide_password=False),
        service,
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in (owner, service):
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
    admin.dispose()


def _refused(url: str, statement: str) -> str:
    engine = create_engine(url)
    try:
        with pytest.raises(sa.exc.ProgrammingError) as raised, engine.begin() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return str(raised.value.orig)


def test_the_service_role_runs_the_service_but_cannot_touch_the_schema_or_the_journal(roles):
    owner_url, service_url, service = roles
    upgrade(owner_url)
    grant_service_role(owner_url, service)
    app = create_app({"ENV": "test", "DATABASE_URL": service_url, "TESTING": True})
    client = app.test_client()
    with app.app_context():  # the service's work: reference data, users, decisions, journal
        loaders.load_territory(db.session, DEMO_DIR / "territory.toml")
        loaders.load_organisations(db.session, DEMO_DIR / "organisations.toml")
        token = users.create_user(
            db.session, email="oph@roles.example", role=Role.LANDLORD, org_code=OPH
        ).token
        db.session.commit()
        oph = {"Authorization": f"Bearer {token}"}
        reserver = action_logement(client, oph, "50.00")
        dwelling = create_dwelling(client, oph, "P0000001", TOULOUSE)
        vacancy = logged(client, oph, dwelling, "2025-10-01", orient_to=reserver, reason="test")
        assert client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).status_code == 200
        entries = db.session.scalar(sa.text("SELECT count(*) FROM journal_entries"))
        db.session.close()
        db.engine.dispose()
    assert entries > 0

    assert "must be owner" in _refused(
        service_url, "ALTER TABLE journal_entries DISABLE TRIGGER journal_append_only_rows"
    )
    assert "must be owner" in _refused(
        service_url, "ALTER TABLE journal_entries DISABLE TRIGGER ALL"
    )
    for statement in (
        "UPDATE journal_entries SET effective_date = effective_date",
        "DELETE FROM journal_entries",
        "TRUNCATE journal_entries",
        "UPDATE audit_records SET action = action",
        "DELETE FROM audit_records",
        "UPDATE alembic_version SET version_num = version_num",
    ):
        assert "permission denied" in _refused(service_url, statement), statement
    assert "must be owner" in _refused(service_url, "DROP TABLE dwellings")
    assert "permission denied" in _refused(service_url, "CREATE TABLE intruder (id integer)")
    assert "permission denied" in _refused(service_url, "SET session_replication_role = replica")
