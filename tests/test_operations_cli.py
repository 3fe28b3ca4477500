"""Operators' first runs (issue 15, item 10): year close refused before the year ends, an RPLS
id held by one landlord at a time and its transfer after a sale (service, API, CLI, audit)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from flux.cli import main
from flux.demo import DEMO_DIR
from flux.models import AuditRecord, Dwelling, Organisation

A, B = "oph-demo-garonne", "esh-demo-pastel"
HEADER = "rpls_id;commune;qpv;typology;financing;construction_year;out_of_flux\n"


@pytest.fixture
def flux(database_url, monkeypatch):
    """flux(*args) -> the click Result of `flux args…` on the test database."""
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def reference_data(flux) -> None:
    assert flux("territories", "load", str(DEMO_DIR / "territory.toml")).exit_code == 0
    assert flux("organisations", "load", str(DEMO_DIR / "organisations.toml")).exit_code == 0


def _csv(tmp_path: Path, name: str, *rpls: str) -> Path:
    path = tmp_path / name
    lines = "".join(f"{r};31555;;T3;PLUS;1990;\n" for r in rpls)
    path.write_text(HEADER + lines, encoding="utf-8")
    return path


# --- flux year close ------------------------------------------------------------------------


@pytest.mark.parametrize("year", [date.today().year, date.today().year + 3])
def test_year_close_refuses_a_year_that_has_not_ended_even_with_nothing_to_close(
    flux, reference_data, year
):
    result = flux("year", "close", str(year))

    assert result.exit_code == 1
    assert f"L'année {year} n'est pas terminée" in result.output


def test_year_close_refuses_a_year_not_ended_on_the_date_given(flux, reference_data):
    result = flux("year", "close", "2025", "--today", "2025-12-31")

    assert result.exit_code == 1
    assert "n'est pas terminée" in result.output


# --- one landlord per RPLS id ---------------------------------------------------------------


def test_the_import_refuses_an_rpls_id_held_by_another_landlord(flux, reference_data, tmp_path):
    first = flux("import", "dwellings", str(_csv(tmp_path, "a.csv", "R1", "R2")), "--landlord", A)
    assert first.exit_code == 0

    result = flux("import", "dwellings", str(_csv(tmp_path, "b.csv", "R3", "R2")), "--landlord", B)

    assert result.exit_code == 1
    assert f"au patrimoine du bailleur « {A} »" in result.output


def test_a_transfer_moves_the_rpls_id_to_the_buyer_and_is_audited(
    flux, reference_data, tmp_path, session
):
    flux("import", "dwellings", str(_csv(tmp_path, "a.csv", "R1")), "--landlord", A)

    result = flux("dwellings", "transfer", "R1", "--from", A, "--to", B, "--on", "2025-06-30")

    assert result.exit_code == 0, result.output
    ids = dict(session.execute(sa.select(Organisation.code, Organisation.id)).all())
    rows = {
        d.landlord_id: d
        for d in session.scalars(sa.select(Dwelling).where(Dwelling.rpls_id == "R1"))
    }
    assert rows[ids[A]].sold_on == date(2025, 6, 30)
    assert rows[ids[B]].sold_on is None
    assert (rows[ids[B]].commune_insee, rows[ids[B]].typology) == ("31555", rows[ids[A]].typology)
    audited = session.scalars(
        sa.select(AuditRecord).where(AuditRecord.table_name == "dwellings")
    ).all()
    assert {(r.action, r.row_key) for r in audited} >= {
        ("update", str(rows[ids[A]].id)),
        ("insert", str(rows[ids[B]].id)),
    }
    # the buyer now imports it; the seller may not any more
    again_b = flux("import", "dwellings", str(_csv(tmp_path, "b.csv", "R1")), "--landlord", B)
    again_a = flux("import", "dwellings", str(_csv(tmp_path, "a.csv", "R1")), "--landlord", A)
    assert again_b.exit_code == 0
    assert again_a.exit_code == 1
    # and a second transfer of the sold row is refused
    twice = flux("dwellings", "transfer", "R1", "--from", A, "--to", B, "--on", "2025-07-01")
    assert twice.exit_code == 1 and "déjà été cédé" in twice.output
