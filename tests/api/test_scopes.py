"""Allocation scopes: the landlord chooses its rule; Tijdeman's only where its bound holds."""

from __future__ import annotations

import pytest

from .conftest import assert_problem
from .vacancy_kit import OPH, action_logement, create_dwelling, etat, logged, toulouse


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def _put(client, headers, rule: str, landlord: int, departement: str = "31"):
    return client.put(
        f"/api/v1/allocation-scopes/{landlord}/{departement}", json={"rule": rule}, headers=headers
    )


def test_a_landlords_scope_starts_with_the_largest_deficit_rule(client, oph, org_ids):
    action_logement(client, oph)

    scopes = client.get("/api/v1/allocation-scopes", headers=oph).get_json()

    assert scopes == [{"landlord_id": org_ids[OPH], "departement": "31", "rule": "largest_deficit"}]


def test_tijdeman_is_refused_when_the_etat_is_spread_by_commune(client, oph, org_ids):
    etat(client, oph)

    body = assert_problem(_put(client, oph, "tijdeman_deadline", org_ids[OPH]), 422)

    assert "sous-objectifs" in body["detail"]


def test_tijdeman_is_refused_when_a_share_does_not_cover_the_departement(client, oph, org_ids):
    toulouse(client, oph)

    body = assert_problem(_put(client, oph, "tijdeman_deadline", org_ids[OPH]), 422)

    assert "tout le département" in body["detail"]


def test_tijdeman_orients_when_every_share_is_eligible_everywhere(client, oph, org_ids):
    action_logement(client, oph, percent="40.00")
    etat(client, oph, policies={"etat_uniform_by_commune": False})

    response = _put(client, oph, "tijdeman_deadline", org_ids[OPH])
    vacancy = logged(client, oph, create_dwelling(client, oph, "T0000001"), "2026-02-01")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rule"] == "tijdeman_deadline"
    assert vacancy["orientation"]["rule"] == "tijdeman_deadline"
    deadlines = [line["deadline"] for line in vacancy["orientation"]["explanation"]]
    assert any(deadline is not None for deadline in deadlines)


def test_a_reserver_cannot_choose_a_scopes_rule(client, auth, oph, org_ids):
    action_logement(client, oph)

    response = _put(client, auth("reserver", "action-logement"), "largest_deficit", org_ids[OPH])

    assert_problem(response, 403)


def test_another_landlord_does_not_see_the_scope(client, auth, oph, org_ids):
    action_logement(client, oph)
    other = auth("landlord", "esh-demo-pastel")

    assert client.get("/api/v1/allocation-scopes", headers=other).get_json() == []
    assert_problem(_put(client, other, "largest_deficit", org_ids[OPH]), 404)


def test_an_unknown_rule_is_refused_naming_the_field(client, oph, org_ids):
    body = assert_problem(_put(client, oph, "lottery", org_ids[OPH]), 422)

    assert list(body["errors"]["json"]) == ["rule"]
