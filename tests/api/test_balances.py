"""Balances through the API: per share target, realised and gap as of any date, derived from
the journal (domain.md §6, design.md §4 invariants 4–5 and §7)."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from flux.services import territories

from .conftest import share
from .vacancy_kit import (
    BLAGNAC,
    COLOMIERS,
    LANDLORD,
    MURET,
    OPH,
    TOULOUSE,
    action_logement,
    balance_rows,
    balances_by_share,
    create_convention,
    create_dwelling,
    etat,
    event,
    figures,
    log,
    logged,
    recorded,
    share_ids,
    toulouse,
)

TWO_DECIMALS = re.compile(r"-?\d+\.\d{2}")


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def dwellings(client, oph):
    """dwellings(commune, n) -> n new dwellings of OPH in that commune."""
    counter = iter(range(1, 1000))

    def make(commune: str, n: int = 1) -> list[int]:
        return [create_dwelling(client, oph, f"B{next(counter):07d}", commune) for _ in range(n)]

    return make


@pytest.fixture
def al_and_toulouse(client, oph) -> dict[str, int]:
    """Action Logement 25 % of the département, Toulouse 15 % of Toulouse."""
    return {
        "al": action_logement(client, oph, "25.00"),
        "tlse": toulouse(client, oph, "15.00"),
    }


def _two_in_toulouse_one_in_colomiers(client, oph, dwellings) -> list[dict]:
    (t1, t2), (c1,) = dwellings(TOULOUSE, 2), dwellings(COLOMIERS, 1)
    return [
        logged(client, oph, t1, "2025-03-01"),
        logged(client, oph, t2, "2025-03-02"),
        logged(client, oph, c1, "2025-03-03"),
    ]


# --- figures ----------------------------------------------------------------------------------


def test_each_share_is_owed_its_percentage_of_the_vacancies_it_was_eligible_for(
    client, oph, al_and_toulouse, dwellings
):
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)

    balances = balances_by_share(client, oph, "2025-12-31")

    al, tlse = al_and_toulouse["al"], al_and_toulouse["tlse"]
    assert {share: figures(row) for share, row in balances.items()} == {
        al: (3, "0.75", 1),
        tlse: (2, "0.30", 0),  # 15 % of Toulouse's two vacancies, not of all three
        LANDLORD: (3, "1.95", 2),
    }
    assert [balances[s]["gap"] for s in (al, tlse, LANDLORD)] == ["0.25", "-0.30", "0.05"]
    assert [balances[s]["target_units"] for s in (al, tlse, LANDLORD)] == [7500, 3000, 19500]


def test_figures_are_strings_with_two_decimals(client, oph, al_and_toulouse, dwellings):
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)

    rows = balance_rows(client, oph, "2025-12-31")

    assert len(rows) == 3
    for row in rows:
        for name in ("target", "gap", "carry_in"):
            assert TWO_DECIMALS.fullmatch(row[name]), (name, row[name])
        assert isinstance(row["target_units"], int)
        assert isinstance(row["realised"], int)
        assert (row["year"], row["as_of"], row["departement"]) == (2025, "2025-12-31", "31")
    assert {row["carry_in"] for row in rows} == {"0.00"}


def test_a_share_without_vacancies_has_zero_figures(client, oph, al_and_toulouse, dwellings):
    (colomiers,) = dwellings(COLOMIERS, 1)
    logged(client, oph, colomiers, "2025-03-01")

    balances = balances_by_share(client, oph, "2025-12-31")

    tlse = balances[al_and_toulouse["tlse"]]
    assert (tlse["eligible"], tlse["target"], tlse["realised"], tlse["gap"]) == (
        0,
        "0.00",
        0,
        "0.00",
    )


# --- as of a date -------------------------------------------------------------------------------


def test_balances_as_of_a_date_are_reproducible_and_unchanged_by_entries_dated_later(
    client, oph, al_and_toulouse, dwellings
):
    march = _two_in_toulouse_one_in_colomiers(client, oph, dwellings)
    before = balance_rows(client, oph, "2025-03-31")
    assert balance_rows(client, oph, "2025-03-31") == before

    (april,) = dwellings(TOULOUSE, 1)
    logged(client, oph, april, "2025-04-10")
    recorded(client, oph, march[2]["id"], "withdrawal", "2025-04-15", reason="Le locataire reste")
    recorded(client, oph, march[1]["id"], "carence", "2025-04-20")

    assert balance_rows(client, oph, "2025-03-31") == before
    assert balance_rows(client, oph, "2025-04-30") != before


def test_a_balance_counts_only_the_vacancies_available_by_its_date(
    client, oph, al_and_toulouse, dwellings
):
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)

    day_two = balances_by_share(client, oph, "2025-03-02")
    day_zero = balances_by_share(client, oph, "2025-02-28")

    assert {share: row["eligible"] for share, row in day_two.items()} == {
        al_and_toulouse["al"]: 2,
        al_and_toulouse["tlse"]: 2,
        LANDLORD: 2,
    }
    assert {row["eligible"] for row in day_zero.values()} == {0}


def test_an_amendment_changes_the_target_weights_from_its_date_on(client, oph, dwellings):
    body = create_convention(
        client,
        oph,
        "AL",
        "action-logement",
        [share("salaries", "25.00")],
        amendments=[{"effective_from": "2025-07-01", "shares": [share("salaries", "28.00")]}],
    )
    al = share_ids(body)["salaries"]
    before, after = dwellings(MURET, 2)
    logged(client, oph, before, "2025-06-30")
    logged(client, oph, after, "2025-07-01")

    june = balances_by_share(client, oph, "2025-06-30")
    july = balances_by_share(client, oph, "2025-07-31")

    assert june[al]["target_units"] == 2500
    assert july[al]["target_units"] == 2500 + 2800
    assert july[al]["target"] == "0.53"
    assert july[LANDLORD]["target_units"] == 7500 + 7200


# --- invariants -------------------------------------------------------------------------------


def test_realised_and_targets_add_up_to_the_counted_vacancies(client, oph, dwellings):
    etat(client, oph)
    al = action_logement(client, oph, "25.00", policies={"carence_counts": False})
    tlse = toulouse(client, oph, "15.00")
    places = dwellings(TOULOUSE, 6) + dwellings(COLOMIERS, 3) + dwellings(MURET, 3)
    vacancies = [
        logged(client, oph, place, f"2025-03-{n + 1:02d}") for n, place in enumerate(places[:10])
    ]
    logged(client, oph, places[10], "2025-03-20", deduction="internal_transfer")
    logged(client, oph, places[11], "2025-03-21", orient_to=LANDLORD, reason="Urgence")
    recorded(client, oph, vacancies[0]["id"], "withdrawal", "2025-03-25", reason="Reste")
    to_al = next(v for v in vacancies[1:] if v["holder"]["share_id"] == al)
    recorded(client, oph, to_al["id"], "carence", "2025-05-01")  # re-credited
    to_tlse = next(v for v in vacancies if v["holder"]["share_id"] == tlse)
    recorded(client, oph, to_tlse["id"], "override", "2025-03-26", share=LANDLORD, reason="x")
    counted = 10 - 1 + 1  # ten logged and one overridden at logging, less the withdrawal

    for as_of in ("2025-03-31", "2025-12-31"):
        rows = balance_rows(client, oph, as_of)
        assert sum(row["realised"] for row in rows) == counted
        assert sum(row["target_units"] for row in rows) == 10_000 * counted
        landlord = next(row for row in rows if row["landlord_part"])
        assert landlord["eligible"] == counted


# --- who sees what ----------------------------------------------------------------------------


def test_a_reserver_sees_only_its_own_shares_and_no_landlord_part(
    client, oph, auth, al_and_toulouse, dwellings
):
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)

    rows = balance_rows(client, auth("reserver", "commune-toulouse"), "2025-12-31")

    assert [(row["share_id"], row["landlord_part"]) for row in rows] == [
        (al_and_toulouse["tlse"], False)
    ]
    assert figures(rows[0]) == (2, "0.30", 0)


def test_a_reserver_without_a_convention_sees_nothing(
    client, oph, auth, al_and_toulouse, dwellings
):
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)

    assert balance_rows(client, auth("reserver", "commune-muret"), "2025-12-31") == []


@pytest.fixture
def gers(session, territory) -> None:
    """A second département (Gers, 32) with one commune, Auch."""
    territories.load_territory(
        session,
        {
            "departement": {"code": "32", "name": "Gers"},
            "commune": [{"insee": "32013", "name": "Auch"}],
        },
    )
    session.commit()


def test_the_prefecture_sees_the_balances_of_its_departement_only(
    client, oph, auth, gers, al_and_toulouse, dwellings
):
    create_convention(
        client, oph, "AL-32", "action-logement", [share("salaries", "20.00")], departement="32"
    )
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)
    (auch,) = dwellings("32013", 1)
    logged(client, oph, auch, "2025-03-05")

    prefecture = balance_rows(client, auth("prefecture", "etat-31"), "2025-12-31")
    landlord = balance_rows(client, oph, "2025-12-31")

    assert {row["departement"] for row in prefecture} == {"31"}
    assert len(prefecture) == 3  # Action Logement, Toulouse, the landlord part
    assert {row["departement"] for row in landlord} == {"31", "32"}
    assert len(landlord) == 5


def test_balances_are_filtered_by_reserver_convention_and_share(
    client, oph, org_ids, al_and_toulouse, dwellings
):
    _two_in_toulouse_one_in_colomiers(client, oph, dwellings)
    tlse = al_and_toulouse["tlse"]

    by_reserver = balance_rows(client, oph, "2025-12-31", reserver=org_ids["commune-toulouse"])
    by_share = balance_rows(client, oph, "2025-12-31", share=tlse)

    assert [row["share_id"] for row in by_reserver] == [tlse]
    assert by_share == by_reserver


# --- sub-targets ----------------------------------------------------------------------------


def test_the_etat_shares_have_a_sub_target_per_commune(client, oph, dwellings):
    ids = etat(client, oph)
    al = action_logement(client, oph, "25.00")
    places = dwellings(TOULOUSE, 2) + dwellings(BLAGNAC, 1)
    for n, place in enumerate(places):
        logged(client, oph, place, f"2025-03-{n + 1:02d}")

    balances = balances_by_share(client, oph, "2025-12-31")

    prioritaires = balances[ids["prioritaires"]]
    subs = {sub["key"]: sub for sub in prioritaires["sub_targets"]}
    assert set(subs) == {f"commune:{BLAGNAC}", f"commune:{TOULOUSE}"}
    assert (subs[f"commune:{TOULOUSE}"]["eligible"], subs[f"commune:{TOULOUSE}"]["target"]) == (
        2,
        "0.50",
    )
    assert (subs[f"commune:{BLAGNAC}"]["eligible"], subs[f"commune:{BLAGNAC}"]["target"]) == (
        1,
        "0.25",
    )
    assert sum(sub["realised"] for sub in subs.values()) == prioritaires["realised"]
    assert sum(sub["target_units"] for sub in subs.values()) == prioritaires["target_units"]
    agents = {sub["key"]: sub["target"] for sub in balances[ids["agents"]]["sub_targets"]}
    assert agents == {f"commune:{BLAGNAC}": "0.05", f"commune:{TOULOUSE}": "0.10"}
    assert balances[al]["sub_targets"] == []
    assert balances[LANDLORD]["sub_targets"] == []


def test_the_etat_has_no_commune_sub_target_when_its_convention_says_otherwise(
    client, oph, dwellings
):
    ids = etat(client, oph, policies={"etat_uniform_by_commune": False})
    (place,) = dwellings(TOULOUSE, 1)
    logged(client, oph, place, "2025-03-01")

    balances = balances_by_share(client, oph, "2025-12-31")

    assert balances[ids["prioritaires"]]["sub_targets"] == []


def _next_event(rnd: random.Random, vacancy: dict) -> tuple[str, dict] | None:
    """A random event the vacancy accepts now, with the fields it needs."""
    choices = list(vacancy["allowed_events"])
    if not choices:
        return None
    type_ = rnd.choice(choices)
    fields: dict = {}
    if type_ == "designation":
        fields["candidates"] = 3
    elif type_ == "cal_attribution":
        fields = {
            "rank": 1,
            "household": {"dalo": False, "prioritaire": True, "first_quartile": False},
        }
    elif type_ == "withdrawal":
        fields["reason"] = "Le locataire reste"
    elif type_ == "override":
        current = holder_of(vacancy)
        others = [
            line["share"]
            for line in vacancy["orientation"]["explanation"]
            if line["share"] != current
        ]
        fields = {"share": rnd.choice(others), "reason": "Arbitrage"}
    return type_, fields


def holder_of(vacancy: dict) -> int | str | None:
    found = vacancy["holder"]
    if found is None:
        return None
    return LANDLORD if found["landlord_part"] else found["share_id"]


def test_the_sum_invariant_holds_through_a_random_year_of_events(client, oph, dwellings):
    etat(client, oph, policies={"designation_deadline_days": 3})
    action_logement(
        client,
        oph,
        "25.00",
        policies={
            "carence_counts": False,
            "cal_refusal_counts": False,
            "designation_deadline_days": 2,
            "cal_refusal_delay_days": 2,
        },
    )
    toulouse(client, oph, "15.00")
    rnd = random.Random(7)
    places = dwellings(TOULOUSE, 6) + dwellings(COLOMIERS, 3) + dwellings(MURET, 3)
    day, opened = date(2025, 1, 1), []
    for _ in range(120):
        day += timedelta(days=rnd.choice([0, 1, 2]))
        if rnd.random() < 0.4 or not opened:
            deduction = "sale" if rnd.random() < 0.15 else None
            response = log(client, oph, rnd.choice(places), day.isoformat(), deduction=deduction)
            assert response.status_code in (201, 409), response.json
            if response.status_code == 201:
                opened.append(response.json["id"])
            continue
        vacancy = client.get(f"/api/v1/vacancies/{rnd.choice(opened)}", headers=oph).json
        chosen = _next_event(rnd, vacancy)
        if chosen is not None:
            response = event(client, oph, vacancy["id"], chosen[0], day.isoformat(), **chosen[1])
            assert response.status_code in (201, 422), response.json

    vacancies = client.get("/api/v1/vacancies?page_size=500", headers=oph).json
    counted = [v for v in vacancies if v["deduction"] is None and v["stage"] != "withdrawn"]
    rows = balance_rows(client, oph, "2025-12-31")
    assert sum(row["realised"] for row in rows) == len(counted)
    assert sum(row["target_units"] for row in rows) == 10_000 * len(counted)
    held = Counter(holder_of(v) for v in counted)
    realised = {LANDLORD if r["landlord_part"] else r["share_id"]: r["realised"] for r in rows}
    assert {share: n for share, n in realised.items() if n} == dict(held)
