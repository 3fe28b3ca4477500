"""The demo loader on databases of their own (function-scoped: PostgreSQL is truncated per test,
so these cannot share test_demo.py's module-wide loaded database)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from flux import demo, loaders
from flux.models import Convention, Dwelling

# --- a broken demo directory --------------------------------------------------------------


def _small_demo(tmp_path: Path) -> Path:
    """The demo territory and organisations, with a small stock and the conventions."""
    directory = tmp_path / "demo"
    directory.mkdir()
    for name in ("territory.toml", "organisations.toml"):
        shutil.copy(demo.DEMO_DIR / name, directory / name)
    shutil.copytree(demo.DEMO_DIR / "conventions", directory / "conventions")
    lines = (demo.DEMO_DIR / "dwellings-coop-demo-lauragais.csv").read_text().splitlines()
    (directory / "dwellings-coop-demo-lauragais.csv").write_text("\n".join(lines[:11]) + "\n")
    return directory


def test_demo_of_an_empty_database_is_not_loaded(session):
    assert not demo.is_loaded(session)


def test_demo_loader_reads_any_directory_of_the_same_layout(session, tmp_path):
    created = demo.load(session, _small_demo(tmp_path))
    session.commit()

    assert len(created) == 12
    assert session.scalar(sa.select(sa.func.count()).select_from(Dwelling)) == 10
    assert session.scalar(sa.select(sa.func.count()).select_from(Convention)) == 16


def test_demo_loader_stops_at_a_bad_stock_file_naming_file_and_line(session, tmp_path):
    directory = _small_demo(tmp_path)
    path = directory / "dwellings-coop-demo-lauragais.csv"
    path.write_text(path.read_text().replace(";T", ";X", 1))

    with pytest.raises(loaders.FileError) as error:
        demo.load(session, directory)

    assert str(error.value).startswith("dwellings-coop-demo-lauragais.csv : ")
    assert "ligne 2 : typology" in str(error.value)
