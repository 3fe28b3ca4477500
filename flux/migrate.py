"""Run the Alembic migrations programmatically (used by `flux db …` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

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
