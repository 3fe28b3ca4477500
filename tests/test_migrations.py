"""Migrations run up and down on the test engine, and match the models exactly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flux.db import Base, create_engine
from flux.migrate import downgrade, upgrade

from .conftest import ON_POSTGRES, PG_URL, create_database


def _scratch_url(tmp_path) -> str:
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'scratch.sqlite'}"
    return create_database(sa.engine.make_url(PG_URL).database + "_migrations")


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    names = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(tmp_path):
    url = _scratch_url(tmp_path)
    upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    downgrade(url, "base")
    assert _tables(url) == set()
    upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)


def test_models_and_migrations_agree(tmp_path):
    url = _scratch_url(tmp_path)
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
