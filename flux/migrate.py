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


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
