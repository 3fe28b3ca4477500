"""Run the Alembic migrations programmatically (used by `flux db …` and the tests)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from flux.db import create_engine
from flux.settings import PROJECT_ROOT


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    _new_generation(url)


def _new_generation(url: str) -> None:
    """A migration may change what the journal folds to: running processes must refold."""
    import sqlalchemy as sa

    from flux.db import create_engine
    from flux.services.allocation_book import NEW_GENERATION_SQL

    engine = create_engine(url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("allocation_scopes")}
        if "generation" in columns:
            with engine.begin() as connection:
                connection.exec_driver_sql(NEW_GENERATION_SQL[engine.dialect.name])
    except sa.exc.NoSuchTableError:
        pass  # before the first migration
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


# --- two database roles (PostgreSQL) ------------------------------------------------------

# Append-only tables: the service inserts and reads, never rewrites.
APPEND_ONLY = ("journal_entries", "audit_records")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_service_role(url: str, role: str) -> None:
    """Give the service's role (not the owner: no DDL, no trigger changes) what it needs to
    run the service, and no more: read and write the tables, except UPDATE, DELETE and
    TRUNCATE on the append-only ones and any write to alembic_version; use the sequences.
    Run by the owner after each upgrade (`flux db upgrade` does it when SERVICE_ROLE is set):
    tables created by later migrations are granted then."""
    if not url.startswith("postgresql"):
        return
    if not _ROLE_NAME.match(role):
        raise ValueError(f"Nom de rôle PostgreSQL invalide : « {role} ».")
    engine = create_engine(url)
    with engine.begin() as connection:
        existing = set(sa.inspect(connection).get_table_names())
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
            *(
                f"REVOKE UPDATE, DELETE ON {table} FROM {role}"
                for table in APPEND_ONLY
                if table in existing
            ),
            f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        ):
            connection.exec_driver_sql(statement)
    engine.dispose()
