"""Alembic environment: batch mode (SQLite), the models' metadata, URL from Flux settings."""

from __future__ import annotations

from alembic import context

import flux.models  # noqa: F401  (registers every table on the metadata)
from flux.db import Base, create_engine
from flux.models.types import UtcDateTime
from flux.settings import load_settings

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj, autogen_context):
    # Migrations must not import application types: render UtcDateTime as plain SQL DateTime.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    context.configure(
        render_item=_render_item,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or load_settings()["DATABASE_URL"]
    engine = create_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported by Flux.")
run_migrations_online()
