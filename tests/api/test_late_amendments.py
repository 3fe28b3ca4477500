"""Avenants keyed in late (issue 12 item 10): an amendment whose effective date is before
vacancies already logged is accepted; the decisions already taken stay, the targets are those of
the new terms from the effective date, and the next decisions make up the difference."""

from __future__ import annotations

import pytest

from .conftest import assert_problem, share
from .vacancy_kit import (
    LANDLORD,
    OPH,
    action_logement,
    balances_by_share,
    create_dwelling,
    holder,
    logged,
    recorded,
)


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def _amend(client, headers, convention_id: int, body: dict):
    etag = client.get(f"/api/v1/conventions/{convention_id}", headers=headers).headers["ETag"]
    return client.post(
        f"/api/v1/conventions/{convention_id}/amendments",
        json=body,
        headers={**headers, "If-Match": etag},
    )


def _convention_of(client, headers, share_id: int) -> int:
    rows = client.get("/api/v1/conventions", headers=headers).get_json()
    return next(c["id"] for c in rows if share_id in {s["id"] for s in c["current"]["shares"]})


def _five_vacancies(client, headers) -> list[dict]:
    days = ["2025-02-01", "2025-02-15", "2025-03-01", "2025-04-01", "2025-05-01"]
    return [
        logged(client, headers, create_dwelling(client, headers, f"L{i}"), day)
        for i, day in enumerate(days)
    ]


def test_a_late_amendment_is_accepted_and_retargets_from_its_effective_date(client, oph):
    al = action_logement(client, oph, "50.00")
    vacancies = _five_vacancies(client, oph)
    holders = [holder(v) for v in vacancies]

    response = _amend(
        client,
        oph,
        _convention_of(client, oph, al),
        {"effective_from": "2025-03-01", "shares": [share("salaries", "10.00")]},
    )

    assert response.status_code == 201, response.get_json()
    # 2 vacancies at 50 %, then 3 at 10 % (the new terms from 1 March): 1.30 and 3.70.
    after = balances_by_share(client, oph, "2025-12-31", year=2025)
    assert (after[al]["target"], after[LANDLORD]["target"]) == ("1.30", "3.70")
    # The decisions already taken stay as they were.
    for vacancy, before in zip(vacancies, holders, strict=True):
        now = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).get_json()
        assert holder(now) == before


def test_the_next_decisions_make_up_the_difference_of_a_late_amendment(client, oph):
    al = action_logement(client, oph, "50.00")
    _five_vacancies(client, oph)  # Action Logement got 2 or 3 of them at 50 %
    _amend(
        client,
        oph,
        _convention_of(client, oph, al),
        {"effective_from": "2025-03-01", "shares": [share("salaries", "10.00")]},
    )

    nexts = [
        holder(logged(client, oph, create_dwelling(client, oph, f"N{i}"), "2025-06-01"))
        for i in range(3)
    ]

    # Ahead of its new due, Action Logement gets none of the next ones.
    assert nexts == [LANDLORD] * 3
    rows = balances_by_share(client, oph, "2025-12-31", year=2025)
    total = sum(float(r["gap"]) for r in rows.values())
    assert abs(total) < 1e-9  # Σ (realised − target) == 0: every vacancy weighs one dwelling


def test_a_late_amendment_is_in_the_journal_with_both_dates(client, oph, auth):
    al = action_logement(client, oph, "50.00")
    _five_vacancies(client, oph)
    _amend(
        client,
        oph,
        _convention_of(client, oph, al),
        {"effective_from": "2025-03-01", "shares": [share("salaries", "10.00")]},
    )

    entries = client.get(
        "/api/v1/journal", query_string={"kind": "terms_changed"}, headers=oph
    ).get_json()

    late = [e for e in entries if e["payload"]["late"]]
    assert len(late) == 1
    entry = late[0]
    assert entry["effective_date"] == "2025-03-01" and entry["recorded_at"]
    assert entry["payload"]["latest_vacancy"] == "2025-05-01"
    assert entry["payload"]["vacancies_retargeted"] == 3


def test_a_withdrawal_after_a_late_amendment_takes_back_the_new_weights(client, oph):
    al = action_logement(client, oph, "50.00")
    vacancies = _five_vacancies(client, oph)
    _amend(
        client,
        oph,
        _convention_of(client, oph, al),
        {"effective_from": "2025-03-01", "shares": [share("salaries", "10.00")]},
    )

    recorded(client, oph, vacancies[-1]["id"], "withdrawal", "2025-05-02", reason="reste")

    rows = balances_by_share(client, oph, "2025-12-31", year=2025)
    assert (rows[al]["target"], rows[LANDLORD]["target"]) == ("1.20", "2.80")


def test_an_amendment_omitting_a_share_without_saying_so_is_refused_naming_it(client, oph):
    body = client.post(
        "/api/v1/conventions",
        headers=oph,
        json={
            "reference": "AL",
            "landlord": OPH,
            "reserver": "action-logement",
            "departement": "31",
            "valid_from": "2025-01-01",
            "perimeter": {"kind": "departement"},
            "shares": [share("salaries", "20.00"), share("jeunes", "5.00")],
        },
    ).get_json()

    response = _amend(
        client,
        oph,
        body["id"],
        {"effective_from": "2025-07-01", "shares": [share("salaries", "20.00")]},
    )

    problem = assert_problem(response, 422)
    assert problem["shares"] == ["jeunes"] and "« jeunes »" in problem["detail"]


def test_an_amendment_ends_a_share_when_the_request_says_so(client, oph):
    body = client.post(
        "/api/v1/conventions",
        headers=oph,
        json={
            "reference": "AL",
            "landlord": OPH,
            "reserver": "action-logement",
            "departement": "31",
            "valid_from": "2025-01-01",
            "perimeter": {"kind": "departement"},
            "shares": [share("salaries", "20.00"), share("jeunes", "5.00")],
        },
    ).get_json()

    response = _amend(
        client,
        oph,
        body["id"],
        {
            "effective_from": "2025-07-01",
            "shares": [share("salaries", "20.00")],
            "ends_shares": ["jeunes"],
        },
    )

    assert response.status_code == 201, response.get_json()
    assert [s["code"] for s in response.get_json()["versions"][-1]["shares"]] == ["salaries"]
