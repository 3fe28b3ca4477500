"""Convention rules of the legal review through the API (issue 12 items 3, 4, 6)."""

from __future__ import annotations

import pytest

from .conftest import ETAT_SHARES, assert_problem, convention, share

OPH = "oph-demo-garonne"


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def prefecture(auth, territory) -> dict:
    return auth("prefecture", "etat-31")


def _landlord_id(client, headers) -> int:
    rows = client.get("/api/v1/organisations", headers=headers).get_json()
    return next(o["id"] for o in rows if o["code"] == OPH)


def _etat_at_35(valid_until: str) -> dict:
    shares = [dict(s) for s in ETAT_SHARES]
    shares[0]["percent"] = "30.00"
    return convention(
        "ETAT", OPH, "etat-31", shares, valid_from="2025-01-01", valid_until=valid_until
    )


def test_r441_5_2_an_etat_convention_above_30_is_refused_without_a_derogation(client, prefecture):
    response = client.post(
        "/api/v1/conventions", json=_etat_at_35("2025-12-31"), headers=prefecture
    )
    assert assert_problem(response, 422)["rule"] == "etat_total_above_30"


def test_r441_5_2_a_prefets_derogation_lets_the_etat_exceed_30_for_its_period(client, prefecture):
    derogation = client.post(
        "/api/v1/conventions/derogations",
        headers=prefecture,
        json={
            "landlord": _landlord_id(client, prefecture),
            "departement": "31",
            "arrete_reference": "Arrêté préfectoral 2025-DDETS-17",
            "starts_on": "2025-01-01",
            "ends_on": "2025-12-31",
            "etat_cap": "35.00",
            "agents_cap": "5.00",
        },
    )
    assert derogation.status_code == 201, derogation.get_json()

    inside = client.post("/api/v1/conventions", json=_etat_at_35("2025-12-31"), headers=prefecture)
    assert inside.status_code == 201, inside.get_json()


def test_r441_5_2_a_derogation_of_more_than_a_year_is_refused(client, prefecture):
    response = client.post(
        "/api/v1/conventions/derogations",
        headers=prefecture,
        json={
            "landlord": _landlord_id(client, prefecture),
            "departement": "31",
            "arrete_reference": "Arrêté 2025-18",
            "starts_on": "2025-01-01",
            "ends_on": "2026-01-01",
            "etat_cap": "35.00",
            "agents_cap": "5.00",
        },
    )
    assert assert_problem(response, 422)["rule"] == "derogation_above_one_year"


def test_r441_5_2_iv_an_etat_convention_may_be_imposed_by_arrete(client, prefecture):
    body = convention("ETAT", OPH, "etat-31", [dict(s) for s in ETAT_SHARES])
    body |= {"imposed_by_arrete": "Arrêté 2025-42", "imposed_on": "2024-12-20"}
    response = client.post("/api/v1/conventions", json=body, headers=prefecture)
    assert response.status_code == 201, response.get_json()
    saved = response.get_json()
    assert (saved["status"], saved["imposed_on"]) == ("imposed_by_arrete", "2024-12-20")


def test_r441_5_an_action_logement_convention_on_one_commune_is_refused(client, oph):
    body = convention(
        "AL",
        OPH,
        "action-logement",
        [share("salaries", "20.00")],
        perimeter={"kind": "communes", "communes": ["31555"]},
    )
    response = client.post("/api/v1/conventions", json=body, headers=oph)
    assert assert_problem(response, 422)["rule"] == "perimeter_not_whole_departement"


def test_r441_6_a_guarantee_share_ends_five_years_after_the_loan(client, oph):
    body = convention(
        "CD31",
        OPH,
        "departement-31",
        [share("garantie", "5.00", guarantee_backed=True, loan_repaid_on="2030-06-15")],
    )
    response = client.post("/api/v1/conventions", json=body, headers=oph)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["current"]["shares"][0]["ends_on"] == "2035-06-15"


def test_guarantee_warning_sums_guarantors_and_is_kept_as_an_alert(client, oph, prefecture):
    commune = convention(
        "TLSE",
        OPH,
        "commune-toulouse",
        [share("garantie", "15.00", guarantee_backed=True)],
        perimeter={"kind": "communes", "communes": ["31555"]},
    )
    assert client.post("/api/v1/conventions", json=commune, headers=oph).status_code == 201
    departement = convention(
        "CD31", OPH, "departement-31", [share("garantie", "10.00", guarantee_backed=True)]
    )
    response = client.post("/api/v1/conventions", json=departement, headers=oph)

    assert response.status_code == 201
    [warning] = response.get_json()["warnings"]
    assert warning["figures"]["total_bp"] == 2500
    alerts = client.get(
        "/api/v1/alerts", query_string={"kind": "guarantee_share_above_20"}, headers=prefecture
    ).get_json()
    assert [a["figures"]["total_bp"] for a in alerts] == [2500]


def _terminate(client, headers, convention_id: int, body: dict):
    etag = client.get(f"/api/v1/conventions/{convention_id}", headers=headers).headers["ETag"]
    return client.post(
        f"/api/v1/conventions/{convention_id}/termination",
        json=body,
        headers={**headers, "If-Match": etag},
    )


def test_r441_5_2_iv_an_etat_convention_is_terminated_two_months_after_notice(client, prefecture):
    body = convention("ETAT", OPH, "etat-31", [dict(s) for s in ETAT_SHARES])
    created = client.post("/api/v1/conventions", json=body, headers=prefecture).get_json()

    early = _terminate(
        client,
        prefecture,
        created["id"],
        {"terminated_on": "2025-08-31", "reference": "R-1", "formal_notice_on": "2025-07-01"},
    )
    done = _terminate(
        client,
        prefecture,
        created["id"],
        {"terminated_on": "2025-09-30", "reference": "R-1", "formal_notice_on": "2025-07-01"},
    )

    assert "01/09/2025" in assert_problem(early, 422)["detail"]
    assert done.status_code == 201, done.get_json()
    saved = done.get_json()
    assert (saved["status"], saved["terminated_on"]) == ("terminated", "2025-09-30")
    in_force = client.get(
        "/api/v1/conventions", query_string={"in_force_on": "2025-10-01"}, headers=prefecture
    ).get_json()
    assert created["id"] not in {c["id"] for c in in_force}
