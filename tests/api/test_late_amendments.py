"""Avenants keyed in late (issue 12 item 10): an amendment whose effective date is before
vacancies already logged is accepted; the decisions already taken stay, the targets are those of
the new terms from the effective date, and the next decisions make up the difference."""

from __future__ import annotations

import pytest

from .conftest import ETAT_SHARES, assert_problem, share
from .vacancy_kit import (
    COLOMIERS,
    LANDLORD,
    OPH,
    TOULOUSE,
    action_logement,
    balances_by_share,
    create_dwelling,
    etat,
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


# --- the État's per-commune sub-targets (R.441-5-2 II) -----------------------------------------

ETAT_AMENDED = [
    {**ETAT_SHARES[0], "percent": "10.00"},  # prioritaires: 25 % -> 10 %
    dict(ETAT_SHARES[1]),  # agents: 5 %
]


def _etat_world(client, oph) -> tuple[dict[str, int], list[dict]]:
    """The État at 25 + 5 %, uniform by commune: three vacancies in Toulouse, two in Colomiers,
    then an avenant keyed late, effective 15 January, that lowers its prioritaires to 10 %."""
    ids = etat(client, oph)
    places = [
        (TOULOUSE, "2025-02-01"),
        (COLOMIERS, "2025-02-15"),
        (TOULOUSE, "2025-03-01"),
        (TOULOUSE, "2025-04-01"),
        (COLOMIERS, "2025-04-15"),
    ]
    vacancies = [
        logged(client, oph, create_dwelling(client, oph, f"E{i}", commune), day)
        for i, (commune, day) in enumerate(places)
    ]
    convention = _convention_of(client, oph, ids["prioritaires"])
    response = _amend(
        client, oph, convention, {"effective_from": "2025-01-15", "shares": ETAT_AMENDED}
    )
    assert response.status_code == 201, response.get_json()
    return ids, vacancies


def test_r441_5_2_a_late_amendment_moves_the_etats_per_commune_sub_targets(client, oph):
    """R.441-5-2 II (the État's share applies in each commune): a late avenant re-targets the
    État's per-commune sub-targets from its effective date as it does its overall target."""
    ids, _ = _etat_world(client, oph)
    rows = balances_by_share(client, oph, "2025-12-31", year=2025)
    prioritaires = rows[ids["prioritaires"]]

    assert prioritaires["target"] == "0.50"  # 5 × 10 %
    subs = {s["key"]: s["target"] for s in prioritaires["sub_targets"]}
    assert subs == {f"commune:{TOULOUSE}": "0.30", f"commune:{COLOMIERS}": "0.20"}
    agents = {s["key"]: s["target"] for s in rows[ids["agents"]]["sub_targets"]}
    assert agents == {f"commune:{TOULOUSE}": "0.15", f"commune:{COLOMIERS}": "0.10"}  # unchanged


def test_r441_5_2_the_journal_shows_each_communes_sub_target_adjustment(client, oph):
    """R.441-5-2 II: each vacancy's target_adjustment names the commune sub-target it moves."""
    ids, vacancies = _etat_world(client, oph)
    entries = client.get(
        "/api/v1/journal", query_string={"kind": "target_adjustment"}, headers=oph
    ).get_json()

    by_vacancy = {e["vacancy_id"]: e["payload"] for e in entries}
    assert set(by_vacancy) == {v["id"] for v in vacancies}
    for vacancy in vacancies:
        payload = by_vacancy[vacancy["id"]]
        commune = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).get_json()
        key = f"commune:{commune['dwelling']['commune']}"
        assert payload["units"][str(ids["prioritaires"])] == -1500
        assert payload["sub_units"] == [[ids["prioritaires"], key, -1500]]
        assert payload["cause"] == "late_amendment" and payload["effective_from"] == "2025-01-15"


def test_r441_5_2_the_next_decision_weighs_the_communes_sub_target_at_the_new_terms(client, oph):
    """R.441-5-2 II: the next vacancy in Toulouse is proposed against the État's Toulouse
    sub-target at the new terms (3 × 10 % + its own 10 %), so it makes up the difference there."""
    ids, _ = _etat_world(client, oph)
    before = balances_by_share(client, oph, "2025-12-31", year=2025)[ids["prioritaires"]]
    realised = {s["key"]: s["realised"] for s in before["sub_targets"]}[f"commune:{TOULOUSE}"]

    nxt = logged(client, oph, create_dwelling(client, oph, "E9", TOULOUSE), "2025-06-01")
    orientation = nxt["orientation"] if "orientation" in nxt else nxt["orientations"][-1]
    line = next(x for x in orientation["explanation"] if x["share_id"] == ids["prioritaires"])
    [sub] = line["sub_deficits"]
    assert sub["key"] == f"commune:{TOULOUSE}"
    assert (sub["target"], sub["realised"]) == (4000, realised)  # not 3 × 2 500 + 1 000


def test_r441_5_2_the_bilans_per_commune_etat_rows_reflect_a_late_amendment(client, oph):
    """R.441-5-2 II in the bilan: the État's per-commune targets are those of the new terms
    (Toulouse 3 × 15 %, Colomiers 2 × 15 %), as are its rights hors QPV."""
    _etat_world(client, oph)
    body = client.get(
        "/api/v1/reports/annual", query_string={"year": 2025, "landlord": OPH}, headers=oph
    ).get_json()
    checks = next(p for p in body["parts"] if p["key"] == "checks")["rows"]
    communes = {
        r["scope"]: r["target"]
        for r in checks
        if r["code"] == "etat_uniform_by_commune" and r["scope"].startswith("commune")
    }

    assert communes == {
        f"commune {TOULOUSE} Toulouse": "0.45",
        f"commune {COLOMIERS} Colomiers": "0.30",
    }
    shares = next(p for p in body["parts"] if p["key"] == "shares")["rows"]
    balances = balances_by_share(client, oph, "2025-12-31", year=2025)
    for row in shares:
        if row["share_id"] is not None:  # the bilan's targets are /balances' (both folded)
            assert row["target"] == balances[row["share_id"]]["target"]
