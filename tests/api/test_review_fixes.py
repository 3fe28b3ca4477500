"""Behaviours pinned after a review of the vacancy feature (each test failed before its fix)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest

from flux.models import Commune, Departement

from .conftest import assert_problem
from .vacancy_kit import (
    LANDLORD,
    OPH,
    TOULOUSE,
    action_logement,
    balances_by_share,
    create_dwelling,
    event,
    holder,
    log,
    logged,
    recorded,
    toulouse,
)

HOUSEHOLD = {"dalo": True, "prioritaire": False, "first_quartile": True}
BIG = 10**20


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def test_a_reserver_sees_only_its_own_shares_in_an_explanation(client, auth, oph):
    al, tl = action_logement(client, oph), toulouse(client, oph)
    vacancy = logged(client, oph, create_dwelling(client, oph, "R1"), "2025-03-01")
    reserver = "action-logement" if holder(vacancy) == al else "commune-toulouse"
    own = al if reserver == "action-logement" else tl

    seen = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=auth("reserver", reserver))
    journal = client.get(
        f"/api/v1/journal?vacancy={vacancy['id']}", headers=auth("reserver", reserver)
    ).get_json()

    assert [line["share"] for line in seen.get_json()["orientation"]["explanation"]] == [own]
    assert all(
        "explanation" not in e["payload"] and "eligible" not in e["payload"] for e in journal
    )


def test_an_event_dated_in_the_future_is_refused(client, oph):
    action_logement(client, oph)
    today = date.today()
    vacancy = logged(client, oph, create_dwelling(client, oph, "F1"), today.isoformat())

    response = event(
        client, oph, vacancy["id"], "carence", (today + timedelta(days=31)).isoformat()
    )

    assert "date" in assert_problem(response, 422)["errors"]["json"]


def test_a_vacancy_more_than_three_months_ahead_is_refused(client, oph):
    action_logement(client, oph)
    later = (date.today() + timedelta(days=120)).isoformat()

    response = log(client, oph, create_dwelling(client, oph, "F2"), later)

    assert "available_on" in assert_problem(response, 422)["errors"]["json"]


def test_a_withdrawn_vacancy_can_be_logged_again_correctly(client, oph):
    action_logement(client, oph)
    dwelling = create_dwelling(client, oph, "W1")
    wrong = logged(client, oph, dwelling, "2025-03-01")
    recorded(client, oph, wrong["id"], "withdrawal", "2025-03-02", reason="erreur de saisie")

    again = log(client, oph, dwelling, "2025-03-01", deduction="internal_transfer")

    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] != wrong["id"]
    assert again.get_json()["stage"] == "deducted"


def test_a_lease_cannot_be_corrected_once_the_dwelling_freed_up_again(client, oph):
    action_logement(client, oph)
    dwelling = create_dwelling(client, oph, "L1")
    first = logged(client, oph, dwelling, "2025-03-01")
    recorded(client, oph, first["id"], "designation", "2025-03-05", candidates=3)
    recorded(client, oph, first["id"], "cal_attribution", "2025-03-10", rank=1, household=HOUSEHOLD)
    lease = recorded(client, oph, first["id"], "lease", "2025-03-20")["events"][-1]["id"]
    logged(client, oph, dwelling, "2025-09-01")

    response = event(
        client, oph, first["id"], "correction", "2025-09-02", corrects=lease, reason="erreur"
    )

    assert "corrects" in assert_problem(response, 422)["errors"]["json"]


def test_a_january_withdrawal_of_a_december_vacancy_counts_in_that_years_balance(client, oph):
    al = action_logement(client, oph)
    vacancy = logged(client, oph, create_dwelling(client, oph, "J1"), "2025-12-20")
    recorded(client, oph, vacancy["id"], "withdrawal", "2026-01-05", reason="le locataire reste")

    before = balances_by_share(client, oph, "2025-12-31", year=2025)
    after = balances_by_share(client, oph, "2026-06-30", year=2025)

    assert before[al]["eligible"] == 1
    assert after[al]["eligible"] == 0
    assert after[al]["realised"] + after[LANDLORD]["realised"] == 0


def test_a_tijdeman_scope_refuses_terms_that_would_break_its_rule(client, oph, org_ids):
    action_logement(client, oph)
    assert (
        client.put(
            f"/api/v1/allocation-scopes/{org_ids[OPH]}/31",
            json={"rule": "tijdeman_deadline"},
            headers=oph,
        ).status_code
        == 200
    )

    response = client.post(
        "/api/v1/conventions",
        headers=oph,
        json={
            "reference": "ETAT",
            "landlord": OPH,
            "reserver": "etat-31",
            "departement": "31",
            "valid_from": "2025-01-01",
            "perimeter": {"kind": "departement", "code": "31"},
            "shares": [
                {
                    "code": "prioritaires",
                    "label": "P",
                    "percent": "25.00",
                    "purpose": "prioritaires",
                }
            ],
        },
    )

    assert assert_problem(response, 409)["rule"] == "tijdeman_scope"
    vacancy = logged(client, oph, create_dwelling(client, oph, "T1"), "2025-03-01")
    assert vacancy["orientation"]["rule"] == "tijdeman_deadline"


def test_a_commune_added_to_the_departement_is_covered_at_once(client, oph, session):
    al = action_logement(client, oph)
    logged(client, oph, create_dwelling(client, oph, "C1"), "2025-03-01")  # warms the caches
    session.add(Commune(insee="31999", name="Commune nouvelle", departement_code="31"))
    session.commit()

    vacancy = logged(client, oph, create_dwelling(client, oph, "C2", commune="31999"), "2025-03-02")

    assert al in [line["share"] for line in vacancy["orientation"]["explanation"]]


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/vacancies?dwelling={BIG}",
        f"/api/v1/vacancies/{BIG}",
        f"/api/v1/balances?share={BIG}",
        f"/api/v1/dwellings/{BIG}",
        f"/api/v1/conventions/{BIG}",
        f"/api/v1/journal?vacancy={BIG}",
    ],
)
def test_an_id_beyond_the_databases_range_is_never_a_500(client, oph, url):
    assert client.get(url, headers=oph).status_code in (404, 422)


def test_a_body_id_beyond_the_databases_range_is_never_a_500(client, oph):
    response = client.post(
        "/api/v1/vacancies", headers=oph, json={"dwelling": BIG, "available_on": "2025-01-01"}
    )

    assert response.status_code in (404, 422)


def test_concurrent_writes_to_the_stock_all_succeed(app, oph):
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def writer(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        for n in range(8):
            statuses.append(
                client.post(
                    "/api/v1/dwellings",
                    headers=oph,
                    json={
                        "rpls_id": f"X{index}N{n}",
                        "commune": TOULOUSE,
                        "typology": "T3",
                        "financing": "PLUS",
                        "construction_year": 1990,
                    },
                ).status_code
            )

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(statuses) == {201: 48}


def test_one_key_sent_at_once_for_two_departements_logs_one_vacancy(app, client, oph, session):
    """Two scopes, two locks: the unique key decides, and the loser is told, not a 500."""
    session.add(Departement(code="32", name="Gers"))
    session.flush()
    session.add(Commune(insee="32013", name="Auch", departement_code="32"))
    session.commit()
    dwellings = [
        create_dwelling(client, oph, "K31"),
        create_dwelling(client, oph, "K32", commune="32013"),
    ]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def writer(dwelling: int) -> None:
        other = app.test_client()
        barrier.wait()
        statuses.append(log(other, oph, dwelling, "2025-03-01", key="K-1").status_code)

    threads = [threading.Thread(target=writer, args=(d,)) for d in dwellings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409]
