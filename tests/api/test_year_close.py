"""Year close: frozen figures, carry-over into the next year, closed-year guard, late entries
(issue 4, domain.md §6)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flux.cli import main
from flux.domain.allocation import FULL
from flux.domain.reconciliation import YearNotOver
from flux.models import JournalEntry, Organisation
from flux.services import year_close
from flux.services.access import SYSTEM
from flux.services.allocation_book import Scope

from .conftest import assert_problem, share
from .vacancy_kit import (
    COLOMIERS,
    LANDLORD,
    OPH,
    TOULOUSE,
    action_logement,
    balances_by_share,
    create_convention,
    create_dwelling,
    event,
    holder,
    log,
    logged,
    recorded,
    share_ids,
    toulouse,
)

AFTER = date(2026, 3, 1)  # "today" for closes of 2025


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def scope(session, oph) -> Scope:
    landlord = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    return Scope(landlord, "31")


@pytest.fixture
def year_2025(client, oph) -> dict:
    """AL 25 % of the département, Toulouse 15 % of Toulouse; 13 vacancies in 2025 (8 in
    Toulouse, 5 in Colomiers)."""
    shares = {"al": action_logement(client, oph, "25.00"), "tlse": toulouse(client, oph, "15.00")}
    vacancies = []
    for n in range(13):
        commune = TOULOUSE if n < 8 else COLOMIERS
        dwelling = create_dwelling(client, oph, f"Y{n:07d}", commune)
        vacancies.append(logged(client, oph, dwelling, f"2025-{1 + n % 12:02d}-1{n % 9}"))
    return {"shares": shares, "vacancies": vacancies}


def close(session, scope, year=2025, today=AFTER):
    closings = year_close.close(session, SYSTEM, scope, year, today)
    session.commit()
    return closings


def entries(session, kind: str) -> list[JournalEntry]:
    return list(
        session.scalars(sa.select(JournalEntry).where(JournalEntry.kind == kind).order_by("id"))
    )


def test_close_carries_each_gap_into_the_next_year(client, oph, session, scope, year_2025):
    before = balances_by_share(client, oph, "2025-12-31", year=2025)
    [closing] = close(session, scope)
    assert closing.created and closing.year == 2025
    carries = {(e.share_id or LANDLORD): e.payload["units"] for e in entries(session, "carry_over")}
    for share_key, row in before.items():
        assert carries.get(share_key, 0) == -row_gap_units(row)
    assert sum(carries.values()) == 0  # a scope's carry-ins cancel out
    after = balances_by_share(client, oph, "2026-01-01", year=2026)
    for share_key, row in before.items():
        if carries.get(share_key):
            assert after[share_key]["carry_in"] == negate(row["gap"])
            assert after[share_key]["target_units"] == carries[share_key]


def row_gap_units(row: dict) -> int:
    return FULL * row["realised"] - row["target_units"]


def negate(text: str) -> str:
    return text[1:] if text.startswith("-") else ("-" + text if text != "0.00" else text)


def test_closing_twice_changes_nothing(session, scope, year_2025):
    close(session, scope)
    count = session.scalar(sa.select(sa.func.count(JournalEntry.id)))
    [again] = close(session, scope)
    assert not again.created
    assert session.scalar(sa.select(sa.func.count(JournalEntry.id))) == count


def test_a_year_that_has_not_ended_cannot_be_closed(session, scope, year_2025):
    with pytest.raises(YearNotOver):
        year_close.close(session, SYSTEM, scope, 2025, date(2025, 12, 31))


def test_earlier_open_years_are_closed_first(client, oph, session, scope, year_2025):
    dwelling = create_dwelling(client, oph, "Z0000001", TOULOUSE)
    logged(client, oph, dwelling, "2024-06-01")
    closings = close(session, scope, 2025)
    assert [c.year for c in closings] == [2024, 2025]
    assert all(c.created for c in closings)
    # No convention in 2024: the landlord part got everything it was owed, nothing to carry.
    assert closings[0].shares[LANDLORD]["carry_units"] == 0
    assert year_close.closed_years(session, scope) == {2024, 2025}


def test_entries_dated_in_a_closed_year_are_refused(client, oph, session, scope, year_2025):
    close(session, scope)
    dwelling = create_dwelling(client, oph, "Z0000002", TOULOUSE)
    body = assert_problem(log(client, oph, dwelling, "2025-12-30"), 409)
    assert body["rule"] == "annee_cloturee" and body["figures"]["year"] == 2025
    vacancy = year_2025["vacancies"][0]["id"]
    assert_problem(event(client, oph, vacancy, "designation", "2025-12-31", candidates=3), 409)
    # The next year is open.
    assert log(client, oph, dwelling, "2026-01-05").status_code == 201


def test_a_closed_year_stays_frozen_and_late_entries_move_next_years_carry_in(
    client, oph, session, scope, year_2025
):
    """A January take-back that does not count, on a December vacancy oriented to a share:
    2025's figures do not move; 2026's carry-ins absorb the difference, flagged late."""
    dwelling = create_dwelling(client, oph, "Z0000003", TOULOUSE)
    shares = year_2025["shares"]
    december = logged(client, oph, dwelling, "2025-12-20", orient_to=shares["al"], reason="test")
    assert holder(december) == shares["al"]
    close(session, scope)
    frozen = balances_by_share(client, oph, "2026-06-30", year=2025)
    carried = balances_by_share(client, oph, "2026-06-30", year=2026)

    recorded(client, oph, december["id"], "carence", "2026-01-25")
    # carence counts by default: nothing changes for 2025 nor for the carry-over.
    assert balances_by_share(client, oph, "2026-06-30", year=2025) == frozen
    assert balances_by_share(client, oph, "2026-06-30", year=2026) == carried

    # A withdrawal dated in 2026 (the tenant stayed after all) is a late correction.
    recorded(client, oph, december["id"], "withdrawal", "2026-02-02", reason="le locataire reste")
    assert balances_by_share(client, oph, "2026-06-30", year=2025) == frozen
    now = balances_by_share(client, oph, "2026-06-30", year=2026)
    late = [e for e in entries(session, "carry_over") if e.payload["late"]]
    assert late and {e.effective_date for e in late} == {date(2026, 2, 2)}
    # AL lost an orientation and its weight: its carry-in rises by 1 − 25 % = 0.75.
    assert now[shares["al"]]["target_units"] - carried[shares["al"]]["target_units"] == 7500
    assert sum(e.payload["units"] for e in late) == 0
    # Before the correction's date, 2026 still shows the carry of the close.
    assert (
        balances_by_share(client, oph, "2026-01-31", year=2026)[shares["al"]]["target_units"]
        == carried[shares["al"]]["target_units"]
    )


def test_a_convention_without_carry_over_carries_nothing(client, oph, session, scope):
    body = create_convention(
        client,
        oph,
        "AL",
        "action-logement",
        [share("salaries", "40.00")],
        policies={"carry_over": False},
    )
    al = share_ids(body)["salaries"]
    for n in range(3):
        dwelling = create_dwelling(client, oph, f"N{n:07d}", TOULOUSE)
        logged(client, oph, dwelling, f"2025-0{n + 1}-10", orient_to=LANDLORD, reason="test")
    [closing] = close(session, scope)
    assert closing.shares[al]["carry_units"] == 0
    assert closing.shares[al]["gap_units"] == -12000  # 0 realised, 1.2 due
    assert closing.shares[LANDLORD]["carry_units"] == 0
    assert not entries(session, "carry_over")


def test_a_share_counted_at_attribution_carries_its_attribution_gap(client, oph, session, scope):
    body = create_convention(
        client,
        oph,
        "AL",
        "action-logement",
        [share("salaries", "50.00")],
        policies={"counting_event": "attribution"},
    )
    al = share_ids(body)["salaries"]
    household = {"dalo": False, "prioritaire": True, "first_quartile": False}
    for n in range(2):
        dwelling = create_dwelling(client, oph, f"A{n:07d}", TOULOUSE)
        vacancy = logged(client, oph, dwelling, f"2025-0{n + 1}-10", orient_to=al, reason="t")
        if n == 0:
            recorded(client, oph, vacancy["id"], "designation", "2025-01-20", candidates=3)
            recorded(
                client,
                oph,
                vacancy["id"],
                "cal_attribution",
                "2025-03-10",
                rank=1,
                household=household,
            )
    [closing] = close(session, scope)
    row = closing.shares[al]
    assert (row["realised"], row["counted"], row["counting_event"]) == (2, 1, "attribution")
    # Due 1.00; counted at orientation it would carry −1, at attribution it is even.
    assert row["carry_units"] == 0
    assert closing.shares[LANDLORD]["carry_units"] == 0


def test_the_cli_closes_a_landlords_year(database_url, monkeypatch, session, scope, year_2025):
    session.commit()
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)

    def flux(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    result = flux(
        "year", "close", "2025", "--landlord", OPH, "--departement", "31", "--today", "2026-01-02"
    )
    assert result.exit_code == 0, result.output
    assert "2025 : clôturée" in result.output
    again = flux("year", "close", "2025", "--today", "2026-01-02")
    assert "2025 : déjà clôturée" in again.output
    refused = flux("year", "close", "2026", "--today", "2026-06-01")
    assert refused.exit_code == 1 and "n'est pas terminée" in refused.output
    assert "--landlord" in flux("year", "close", "--help").output


def test_a_reserver_reads_the_carry_over_entries_of_its_shares(
    client, oph, auth, session, scope, year_2025
):
    close(session, scope)
    al = auth("reserver", "action-logement")
    response = client.get("/api/v1/journal", query_string={"kind": "carry_over"}, headers=al)
    assert response.status_code == 200
    body = response.get_json()
    items = body["items"] if isinstance(body, dict) else body
    shares = {item["share_id"] for item in items if item["kind"] == "carry_over"}
    # AL's target, 25 % of 13 = 3.25, is never met exactly: it has a carry, and only it.
    assert shares == {year_2025["shares"]["al"]}


def test_nothing_is_accepted_before_the_last_closed_year(client, oph, session, scope, year_2025):
    """Closed years are always a scope's first years: a vacancy backdated into 2024 after
    2025 was closed would carry into a closed year, so it is refused too."""
    close(session, scope)
    dwelling = create_dwelling(client, oph, "Z0000009", TOULOUSE)
    body = assert_problem(log(client, oph, dwelling, "2024-06-01"), 409)
    assert body["rule"] == "annee_cloturee" and body["figures"]["year"] == 2025
    # Closing an earlier year afterwards writes nothing either.
    count = session.scalar(sa.select(sa.func.count(JournalEntry.id)))
    assert year_close.close(session, SYSTEM, scope, 2024, AFTER) == []
    assert session.scalar(sa.select(sa.func.count(JournalEntry.id))) == count


def test_a_late_entry_two_closed_years_back_carries_into_the_first_open_year(
    client, oph, session, scope
):
    al = action_logement(client, oph, "50.00", valid_from="2024-01-01")
    old = logged(
        client,
        oph,
        create_dwelling(client, oph, "Z0000010", TOULOUSE),
        "2024-11-01",
        orient_to=al,
        reason="test",
    )
    logged(client, oph, create_dwelling(client, oph, "Z0000011", TOULOUSE), "2025-03-03")
    close(session, scope, 2025, today=date(2026, 6, 1))
    assert year_close.closed_years(session, scope) == {2024, 2025}
    before = balances_by_share(client, oph, "2026-12-31", year=2026)

    # The tenant of the 2024 vacancy stayed after all: AL loses 1 orientation and 0.50 of
    # target in 2024, so it is owed 0.50 more, in 2026 (2025 is closed too).
    recorded(client, oph, old["id"], "withdrawal", "2026-02-01", reason="le locataire reste")
    late = {
        (e.share_id or LANDLORD): (e.period, e.payload["units"], e.payload["from_year"])
        for e in entries(session, "carry_over")
        if e.payload["late"]
    }
    assert late == {al: (2026, 5000, 2024), LANDLORD: (2026, -5000, 2024)}
    after = balances_by_share(client, oph, "2026-12-31", year=2026)
    assert after[al]["target_units"] - before[al]["target_units"] == 5000


def test_a_late_entry_that_changes_nothing_adds_nothing(client, oph, session, scope, year_2025):
    vacancy = year_2025["vacancies"][-1]["id"]
    close(session, scope)
    household = {"dalo": False, "prioritaire": True, "first_quartile": True}
    recorded(client, oph, vacancy, "cal_attribution", "2026-01-10", rank=1, household=household)
    assert not [e for e in entries(session, "carry_over") if e.payload["late"]]
