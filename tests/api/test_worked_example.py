"""The worked example of domain.md §10, end to end through the services (issue 4).

A landlord in one département: town A (Toulouse), town B (Colomiers), the rest (Muret).
800 re-lettings plus 120 first lettings in B: 920 vacancies; 160 internal transfers, 40 urban
renewal, 5 sales deducted: a flux base of 715 (A 280, B 320, rest 115). Its targets, the État's
per-commune targets, and town B's carry-over of 8 when it was offered 24.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from flux.domain.reference import Financing, Letting, Role, Typology
from flux.models import Dwelling, Organisation
from flux.services import vacancies, vacancy_events, year_close
from flux.services.access import SYSTEM, Actor
from flux.services.allocation_book import Scope

from .conftest import ETAT_SHARES, share
from .vacancy_kit import (
    COLOMIERS,
    LANDLORD,
    MURET,
    OPH,
    TOULOUSE,
    balances_by_share,
    create_convention,
    share_ids,
)

TOWN_A, TOWN_B, REST = TOULOUSE, COLOMIERS, MURET

# (commune, letting, deduction) -> how many vacancies of 2025
VACANCIES = {
    (TOWN_A, Letting.RELETTING, None): 280,
    (TOWN_A, Letting.RELETTING, "internal_transfer"): 100,
    (TOWN_A, Letting.RELETTING, "urban_renewal"): 40,
    (TOWN_B, Letting.RELETTING, None): 200,
    (TOWN_B, Letting.FIRST_LETTING, None): 120,
    (TOWN_B, Letting.RELETTING, "internal_transfer"): 40,
    (REST, Letting.RELETTING, None): 115,
    (REST, Letting.RELETTING, "internal_transfer"): 20,
    (REST, Letting.RELETTING, "sale"): 5,
}


@pytest.fixture
def example(client, auth, territory, session):
    """The example's conventions and its 920 vacancies of 2025, in a shuffled order."""
    oph = auth("landlord", OPH)
    shares = share_ids(
        create_convention(client, oph, "ETAT", "etat-31", [dict(s) for s in ETAT_SHARES])
    )
    shares |= share_ids(
        create_convention(client, oph, "AL", "action-logement", [share("al", "25.00")])
    )
    shares |= share_ids(
        create_convention(
            client,
            oph,
            "A",
            "commune-toulouse",
            [share("town_a", "15.00")],
            perimeter={"kind": "communes", "communes": [TOWN_A]},
        )
    )
    shares |= share_ids(
        create_convention(
            client,
            oph,
            "B",
            "commune-colomiers",
            [share("town_b", "10.00")],
            perimeter={"kind": "communes", "communes": [TOWN_B]},
        )
    )
    shares |= share_ids(
        create_convention(client, oph, "CD", "departement-31", [share("cd", "2.00")])
    )
    landlord = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    plan = [key for key, count in VACANCIES.items() for _ in range(count)]
    assert len(plan) == 920 and sum(1 for *_, d in plan if d is None) == 715
    random.Random(10).shuffle(plan)
    dwellings = [
        Dwelling(
            landlord_id=landlord,
            rpls_id=f"W{n:07d}",
            commune_insee=commune,
            typology=Typology.T3,
            financing=Financing.PLUS,
            construction_year=2024 if letting is Letting.FIRST_LETTING else 1980,
        )
        for n, (commune, letting, _) in enumerate(plan)
    ]
    session.add_all(dwellings)
    session.commit()
    actor = Actor(None, Role.LANDLORD, landlord)
    ids = []
    for n, ((_, letting, deduction), dwelling) in enumerate(zip(plan, dwellings, strict=True)):
        on = date(2025, 1, 1) + timedelta(days=n * 364 // 920)
        new = vacancies.NewVacancy(on, dwelling.id, letting=letting, deduction=deduction)
        ids.append(vacancies.log_vacancy(session, actor, new, today=date(2026, 1, 15)).vacancy_id)
    session.commit()
    return {
        "oph": oph,
        "shares": shares,
        "scope": Scope(landlord, "31"),
        "actor": actor,
        "vacancies": list(zip(plan, ids, strict=True)),
    }


def test_the_targets_of_the_worked_example(client, example):
    rows = balances_by_share(client, example["oph"], "2025-12-31", year=2025)
    shares = example["shares"]
    expected = {
        shares["prioritaires"]: "178.75",
        shares["agents"]: "35.75",
        shares["al"]: "178.75",
        shares["town_a"]: "42.00",
        shares["town_b"]: "32.00",
        shares["cd"]: "14.30",
        LANDLORD: "233.45",
    }
    assert {key: rows[key]["target"] for key in expected} == expected
    assert rows[shares["town_a"]]["eligible"] == 280
    assert rows[shares["town_b"]]["eligible"] == 320
    assert rows[shares["al"]]["eligible"] == 715
    assert sum(row["realised"] for row in rows.values()) == 715
    # The État uniform by commune: its two shares' per-commune targets add up to A 84,
    # B 96, rest 34.5.
    per_commune: dict[str, int] = {}
    for key in (shares["prioritaires"], shares["agents"]):
        for sub in rows[key]["sub_targets"]:
            per_commune[sub["key"]] = per_commune.get(sub["key"], 0) + sub["target_units"]
    assert per_commune == {
        f"commune:{TOWN_A}": 840_000,
        f"commune:{TOWN_B}": 960_000,
        f"commune:{REST}": 345_000,
    }


def test_town_b_offered_24_carries_8_into_next_year(client, session, example):
    shares, actor = example["shares"], example["actor"]
    rows = balances_by_share(client, example["oph"], "2025-12-31", year=2025)
    excess = rows[shares["town_b"]]["realised"] - 24
    assert excess > 0  # the rule gave B about its 32
    town_b_vacancies = [
        vacancy_id
        for (commune, _, deduction), vacancy_id in example["vacancies"]
        if commune == TOWN_B
        and deduction is None
        and vacancies.replay(session, vacancy_id).holder == shares["town_b"]
    ]
    # The landlord takes `excess` of them for its own part: B ends the year offered 24.
    for vacancy_id in town_b_vacancies[:excess]:
        on = vacancies.replay(session, vacancy_id).logged.effective_date
        data = {"type": "override", "date": on, "share": LANDLORD, "reason": "exemple §10"}
        vacancy_events.record(session, actor, vacancy_id, data, today=date(2026, 1, 15))
    session.commit()
    assert (
        balances_by_share(client, example["oph"], "2025-12-31", year=2025)[shares["town_b"]]["gap"]
        == "-8.00"
    )

    [closing] = year_close.close(session, SYSTEM, example["scope"], 2025, date(2026, 1, 2))
    session.commit()
    assert closing.shares[shares["town_b"]]["carry_units"] == 80_000
    next_year = balances_by_share(client, example["oph"], "2026-01-01", year=2026)
    assert next_year[shares["town_b"]]["carry_in"] == "8.00"
    assert next_year[shares["town_b"]]["target"] == "8.00"
