"""The reserver's chart: each share's cumulative balance at every month end of a year
(GET /api/v1/balances/monthly), the same figures /balances gives as of those days."""

from __future__ import annotations

from datetime import date

import pytest

from flux import clock
from flux.services import allocation_book, year_close
from flux.services.access import SYSTEM
from flux.services.allocation_book import Scope
from flux.services.balances import month_ends

from .conftest import assert_problem, share
from .vacancy_kit import (
    COLOMIERS,
    LANDLORD,
    MURET,
    OPH,
    TOULOUSE,
    balance_rows,
    create_convention,
    create_dwelling,
    etat,
    logged,
    recorded,
    share_ids,
    toulouse,
)

FIGURES = ("eligible", "target", "target_units", "realised", "gap", "carry_in")
MONTHS_2025 = [f"2025-{month:02d}" for month in range(1, 13)]


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def year_2025(client, oph) -> dict[str, int]:
    """The État (with its per-commune sub-targets), Action Logement amended from July (25 % →
    28 %, carence not counted) and Toulouse 15 %; a year of vacancies in three communes with
    a deduction, a withdrawal, an override and a re-credited carence. Returns the share ids."""
    ids = etat(client, oph)
    al = share_ids(
        create_convention(
            client,
            oph,
            "AL",
            "action-logement",
            [share("salaries", "25.00")],
            policies={"carence_counts": False},
            amendments=[{"effective_from": "2025-07-01", "shares": [share("salaries", "28.00")]}],
        )
    )["salaries"]
    tlse = toulouse(client, oph, "15.00")
    communes = [TOULOUSE, COLOMIERS, MURET]
    vacancies = []
    for n in range(30):  # about one vacancy every twelve days, from January to December
        on = date(2025, 1, 3).toordinal() + 12 * n
        dwelling = create_dwelling(client, oph, f"S{n:07d}", communes[n % 3])
        deduction = "internal_transfer" if n == 7 else None
        vacancies.append(
            logged(client, oph, dwelling, date.fromordinal(on).isoformat(), deduction=deduction)
        )
    recorded(client, oph, vacancies[2]["id"], "withdrawal", "2025-03-20", reason="Reste")
    to_al = next(v for v in vacancies[3:12] if v["holder"] and v["holder"]["share_id"] == al)
    recorded(client, oph, to_al["id"], "carence", "2025-06-10")  # not counted: re-credited
    to_tlse = next(v for v in vacancies[12:] if v["holder"] and v["holder"]["share_id"] == tlse)
    recorded(client, oph, to_tlse["id"], "override", "2025-09-15", share=LANDLORD, reason="x")
    return {**ids, "al": al, "tlse": tlse}


def series(client, headers, **query) -> list[dict]:
    response = client.get("/api/v1/balances/monthly", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _key(row: dict) -> tuple:
    return row["landlord_id"], row["departement"], row["share_id"], row["landlord_part"]


# --- the figures ------------------------------------------------------------------------------


def test_each_month_end_equals_the_balances_as_of_that_day(client, oph, year_2025):
    rows = series(client, oph, year=2025)

    assert len(rows) == 5  # two État shares, Action Logement, Toulouse, the landlord part
    for row in rows:
        assert [point["month"] for point in row["months"]] == MONTHS_2025
    for index in range(12):
        as_of = rows[0]["months"][index]["as_of"]
        expected = {_key(b): b for b in balance_rows(client, oph, as_of, year=2025)}
        assert {_key(row) for row in rows} == set(expected)
        for row in rows:
            point, balance = row["months"][index], expected[_key(row)]
            assert point["as_of"] == balance["as_of"] == as_of
            assert {f: point[f] for f in FIGURES} == {f: balance[f] for f in FIGURES}, as_of
            assert row["label"] == balance["label"]


def test_the_series_is_cumulative_from_january_and_moves_with_the_year(client, oph, year_2025):
    rows = {row["share_id"] or LANDLORD: row for row in series(client, oph, year=2025)}

    al = rows[year_2025["al"]]["months"]
    eligible = [point["eligible"] for point in al]
    assert eligible == sorted(eligible)  # Action Logement: everywhere
    assert eligible[0] == 3  # 3, 15 and 27 January
    assert eligible[-1] == 30 - 1 - 1  # less the deduction and the withdrawal
    realised = sum(rows[share]["months"][-1]["realised"] for share in rows)
    assert realised == 28
    assert sum(rows[share]["months"][-1]["target_units"] for share in rows) == 28 * 10_000
    # July's amendment: every Action Logement vacancy from then on weighs 2 800, not 2 500.
    steps = {b["target_units"] - a["target_units"] for a, b in zip(al[6:], al[7:], strict=False)}
    assert all(step % 2800 == 0 for step in steps)


def test_the_points_are_the_last_days_of_the_months(client, oph, year_2025):
    (row, *_) = series(client, oph, year=2025)

    assert [point["as_of"] for point in row["months"]][:3] == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-31",
    ]
    assert row["months"][-1]["as_of"] == "2025-12-31"
    assert row["year"] == 2025


def test_the_current_year_stops_today(client, oph, year_2025, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2025, 6, 15))

    rows = series(client, oph)  # the year defaults to the current one

    for row in rows:
        assert row["year"] == 2025
        assert [point["month"] for point in row["months"]] == MONTHS_2025[:6]
        assert row["months"][-1]["as_of"] == "2025-06-15"
    today = {_key(b): b for b in balance_rows(client, oph, "2025-06-15", year=2025)}
    for row in rows:
        point = row["months"][-1]
        assert {f: point[f] for f in FIGURES} == {f: today[_key(row)][f] for f in FIGURES}


def test_a_future_year_has_no_points(client, oph, year_2025, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2025, 12, 31))

    rows = series(client, oph, year=2026)

    assert rows and all(row["months"] == [] for row in rows)


def test_month_ends_include_the_29th_of_february_and_stop_at_today():
    assert month_ends(2024, date(2030, 1, 1))[1] == date(2024, 2, 29)
    assert month_ends(2025, date(2025, 3, 1)) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 1),
    ]
    assert month_ends(2025, date(2025, 3, 31))[-1] == date(2025, 3, 31)
    assert month_ends(2026, date(2025, 12, 31)) == []


def test_each_scope_is_read_and_folded_once_for_the_whole_year(client, oph, year_2025, monkeypatch):
    reads, as_of_folds = [], []
    real_rows, real_as_of = allocation_book._rows, allocation_book.as_of

    def counting_rows(session, scope, year, **kwargs):
        reads.append((scope, year))
        return real_rows(session, scope, year, **kwargs)

    def counting_as_of(session, scope, year, day):
        as_of_folds.append(day)
        return real_as_of(session, scope, year, day)

    monkeypatch.setattr(allocation_book, "_rows", counting_rows)
    monkeypatch.setattr(allocation_book, "as_of", counting_as_of)

    rows = series(client, oph, year=2025)

    assert len(rows) == 5
    assert len(reads) == 1 and as_of_folds == []  # one scope: one read, one fold


def test_the_points_carry_the_bilans_figures(client, oph, year_2025):
    rows = {row["share_id"] or LANDLORD: row for row in series(client, oph, year=2025)}

    al = rows[year_2025["al"]]
    assert al["share_code"] == "salaries"
    assert [p["percent"] for p in al["months"]][5:7] == ["25.00", "28.00"]  # amended in July
    december = al["months"][-1]
    assert december["counting_event"] == "orientation"
    assert december["counted"] == december["realised"]
    assert december["taken_back_not_counted"] == 1  # the June carence, re-credited
    assert december["proposed"] >= december["realised"]
    assert december["completion_rate"] is not None
    assert (
        "percent" not in rows[LANDLORD]["months"][0]
        or rows[LANDLORD]["months"][0]["percent"] is None
    )


def test_the_next_years_series_opens_on_the_carry_over(
    client, oph, session, year_2025, monkeypatch
):
    before = series(client, oph, year=2025)
    landlord = next(row["landlord_id"] for row in before)
    year_close.close(session, SYSTEM, Scope(landlord, "31"), 2025, date(2026, 1, 5))
    session.commit()
    monkeypatch.setattr(clock, "today", lambda: date(2026, 3, 1))

    after = {_key(row): row for row in series(client, oph, year=2026)}

    assert series(client, oph, year=2025) == before
    carried = 0
    for row in before:
        december, opening = row["months"][-1], after[_key(row)]["months"]
        assert [point["month"] for point in opening] == ["2026-01", "2026-02", "2026-03"]
        units = 10_000 * december["realised"] - december["target_units"]
        assert opening[0]["target_units"] == -units  # no vacancy in 2026: the carry alone
        assert opening[0]["carry_in"] == opening[-1]["carry_in"]
        carried += units
    assert carried == 0 and any(row["months"][-1]["gap"] != "0.00" for row in before)


# --- who sees what ----------------------------------------------------------------------------


def test_a_reserver_sees_only_its_own_shares_and_no_landlord_part(client, oph, auth, year_2025):
    reserver = auth("reserver", "commune-toulouse")

    rows = series(client, reserver, year=2025)

    assert [(row["share_id"], row["landlord_part"]) for row in rows] == [(year_2025["tlse"], False)]
    assert rows[0]["reserver"]["code"] == "commune-toulouse"
    assert len(rows[0]["months"]) == 12


def test_a_reserver_filtering_on_another_reservers_share_gets_nothing(
    client, oph, auth, org_ids, year_2025
):
    reserver = auth("reserver", "commune-toulouse")

    assert series(client, reserver, year=2025, share=year_2025["al"]) == []
    assert series(client, reserver, year=2025, reserver=org_ids["action-logement"]) == []
    assert balance_rows(client, reserver, "2025-12-31", share=year_2025["al"]) == []
    assert series(client, auth("reserver", "commune-muret"), year=2025) == []


def test_the_series_is_filtered_as_balances_are(client, oph, org_ids, year_2025):
    by_share = series(client, oph, year=2025, share=year_2025["al"])
    by_reserver = series(client, oph, year=2025, reserver=org_ids["action-logement"])
    etat_convention = series(client, oph, year=2025, share=year_2025["prioritaires"])

    assert [row["share_id"] for row in by_share] == [year_2025["al"]]
    assert by_reserver == by_share
    assert [row["share_id"] for row in etat_convention] == [year_2025["prioritaires"]]
    assert series(client, oph, year=2025, departement="32") == []


def test_anonymous_callers_are_refused(client, year_2025):
    assert_problem(client.get("/api/v1/balances/monthly?year=2025"), 401)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("year", ["1999", "2101", "deux-mille", ""])
def test_a_bad_year_is_a_422_problem(client, oph, year):
    response = client.get("/api/v1/balances/monthly", query_string={"year": year}, headers=oph)

    body = assert_problem(response, 422)
    assert "year" in body["errors"]["query"]


def test_the_endpoint_is_documented_with_its_errors(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    operation = spec["paths"]["/api/v1/balances/monthly"]["get"]
    assert {"200", "401", "422"} <= set(operation["responses"])
    assert "year" in {parameter["name"] for parameter in operation["parameters"]}
