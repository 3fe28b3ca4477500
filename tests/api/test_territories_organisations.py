"""Territories (read only) and organisations (landlords, reservers) through the API."""

from __future__ import annotations

import json

import pytest

from flux.models import Organisation

from .conftest import assert_problem

TOULOUSE_METROPOLE = "243100518"


@pytest.fixture
def headers(auth, territory) -> dict:
    return auth("reserver", "action-logement")


# --- territories ------------------------------------------------------------------------


def test_territories_need_a_token(client, territory):
    assert_problem(client.get("/api/v1/territories/communes"), 401)


def test_departements_list_the_loaded_departement(client, headers):
    response = client.get("/api/v1/territories/departements", headers=headers)

    assert response.status_code == 200
    assert response.json == [{"code": "31", "name": "Haute-Garonne"}]


def test_departement_is_read_by_code_and_an_unknown_one_answers_404(client, headers):
    found = client.get("/api/v1/territories/departements/31", headers=headers)
    missing = client.get("/api/v1/territories/departements/99", headers=headers)

    assert found.status_code == 200
    assert found.json["name"] == "Haute-Garonne"
    body = assert_problem(missing, 404)
    assert "99" in body["detail"]


def test_epcis_are_filtered_by_departement(client, headers):
    in_31 = client.get("/api/v1/territories/epcis?departement=31", headers=headers)
    in_75 = client.get("/api/v1/territories/epcis?departement=75", headers=headers)

    assert {e["siren"] for e in in_31.json} == {TOULOUSE_METROPOLE, "200068641", "243100633"}
    assert in_75.json == []


def test_epci_is_read_by_siren(client, headers):
    response = client.get(f"/api/v1/territories/epcis/{TOULOUSE_METROPOLE}", headers=headers)

    assert response.json == {
        "siren": TOULOUSE_METROPOLE,
        "name": "Toulouse Métropole",
        "kind": "metropole",
        "departement_code": "31",
    }


def test_communes_are_filtered_by_epci(client, headers):
    response = client.get(
        f"/api/v1/territories/communes?epci={TOULOUSE_METROPOLE}&page_size=100", headers=headers
    )

    assert response.status_code == 200
    assert len(response.json) == 13
    assert {c["epci_siren"] for c in response.json} == {TOULOUSE_METROPOLE}


def test_commune_shows_its_qpvs(client, headers):
    response = client.get("/api/v1/territories/communes/31395", headers=headers)

    assert response.json == {
        "insee": "31395",
        "name": "Muret",
        "departement_code": "31",
        "epci_siren": "200068641",
        "qpv_codes": ["QP031001", "QP031002"],
    }


def test_communes_are_paginated_with_an_x_pagination_header(client, headers):
    first = client.get("/api/v1/territories/communes?page_size=8", headers=headers)
    last = client.get("/api/v1/territories/communes?page_size=8&page=3", headers=headers)

    assert len(first.json) == 8 and len(last.json) == 4
    assert json.loads(first.headers["X-Pagination"]) == {
        "total": 20,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 1,
        "next_page": 2,
    }
    assert json.loads(last.headers["X-Pagination"])["previous_page"] == 2
    assert not {c["insee"] for c in first.json} & {c["insee"] for c in last.json}


def test_page_size_above_the_maximum_is_refused_with_422(client, headers):
    response = client.get("/api/v1/territories/communes?page_size=501", headers=headers)

    body = assert_problem(response, 422)
    assert "page_size" in body["errors"]["query"]


def test_qpvs_are_filtered_by_commune_and_list_their_communes(client, headers):
    toulouse = client.get("/api/v1/territories/qpvs?commune=31555", headers=headers)
    one = client.get("/api/v1/territories/qpvs/QP031005", headers=headers)
    everything = client.get("/api/v1/territories/qpvs", headers=headers)

    assert {q["code"] for q in toulouse.json} == {"QP031006", "QP031007", "QP031010", "QP031011"}
    assert one.json == {
        "code": "QP031005",
        "name": "Val d'Aran - Poitou - Pyrénées",
        "communes": ["31149"],
    }
    assert json.loads(everything.headers["X-Pagination"])["total"] == 10


def test_unknown_qpv_answers_404_problem(client, headers):
    assert_problem(client.get("/api/v1/territories/qpvs/QP000000", headers=headers), 404)


# --- organisations ----------------------------------------------------------------------


def test_organisations_list_landlords_and_reservers_with_their_category(client, headers):
    response = client.get("/api/v1/organisations", headers=headers)

    assert response.status_code == 200
    by_code = {o["code"]: o for o in response.json}
    assert len(by_code) == 10
    assert by_code["oph-demo-garonne"]["kind"] == "landlord"
    assert by_code["oph-demo-garonne"]["category"] is None
    assert by_code["commune-muret"] | {"id": 0} == {
        "id": 0,
        "code": "commune-muret",
        "name": "Ville de Muret",
        "kind": "reserver",
        "category": "commune",
        "territory": "31395",
        "departement_code": "31",
    }


def test_organisations_are_filtered_by_kind_and_category(client, headers):
    landlords = client.get("/api/v1/organisations?kind=landlord", headers=headers)
    communes = client.get("/api/v1/organisations?category=commune", headers=headers)
    wrong = client.get("/api/v1/organisations?kind=tenant", headers=headers)

    assert {o["code"] for o in landlords.json} == {
        "oph-demo-garonne",
        "esh-demo-pastel",
        "coop-demo-lauragais",
    }
    assert {o["code"] for o in communes.json} == {
        "commune-toulouse",
        "commune-colomiers",
        "commune-muret",
    }
    assert "kind" in assert_problem(wrong, 422)["errors"]["query"]


def test_organisation_is_read_by_id_and_an_unknown_id_answers_404(client, headers, org_ids):
    found = client.get(f"/api/v1/organisations/{org_ids['etat-31']}", headers=headers)

    assert found.json["code"] == "etat-31"
    assert found.json["category"] == "etat"
    assert_problem(client.get("/api/v1/organisations/9999", headers=headers), 404)


def _new_reserver(**overrides) -> dict:
    return {
        "code": "commune-blagnac",
        "name": "Ville de Blagnac",
        "kind": "reserver",
        "category": "commune",
        "territory": "31069",
        **overrides,
    }


def test_admin_creates_a_reserver_whose_departement_comes_from_its_territory(
    client, auth, territory, committed
):
    before = committed(Organisation)

    response = client.post("/api/v1/organisations", json=_new_reserver(), headers=auth("admin"))

    assert response.status_code == 201
    assert response.json["departement_code"] == "31"
    assert response.json["territory"] == "31069"
    assert committed(Organisation) == before + 1


@pytest.mark.parametrize(
    ("role", "org"),
    [("landlord", "oph-demo-garonne"), ("reserver", "commune-toulouse"), ("prefecture", "etat-31")],
)
def test_only_admins_create_organisations(client, auth, territory, committed, role, org):
    before = committed(Organisation)

    response = client.post("/api/v1/organisations", json=_new_reserver(), headers=auth(role, org))

    assert_problem(response, 403)
    assert committed(Organisation) == before


def test_duplicate_organisation_code_is_refused_with_409_naming_the_code(client, auth, territory):
    response = client.post(
        "/api/v1/organisations", json=_new_reserver(code="commune-muret"), headers=auth("admin")
    )

    body = assert_problem(response, 409)
    assert body["errors"] == {"json": {"code": ["Code déjà utilisé."]}}


def test_reserver_without_category_is_refused_with_422_naming_category(client, auth, territory):
    response = client.post(
        "/api/v1/organisations", json=_new_reserver(category=None), headers=auth("admin")
    )

    assert list(assert_problem(response, 422)["errors"]["json"]) == ["category"]


def test_landlord_with_a_category_is_refused_with_422_naming_category(client, auth, territory):
    payload = {"code": "esh-x", "name": "ESH X", "kind": "landlord", "category": "commune"}

    response = client.post("/api/v1/organisations", json=payload, headers=auth("admin"))

    assert list(assert_problem(response, 422)["errors"]["json"]) == ["category"]


def test_territorial_reserver_without_territory_is_refused_naming_the_territory_field(
    client, auth, territory
):
    payload = _new_reserver()
    del payload["territory"]

    response = client.post("/api/v1/organisations", json=payload, headers=auth("admin"))

    assert assert_problem(response, 422)["errors"] == {
        "json": {"territory": ["Champ requis pour cette catégorie."]}
    }


def test_reserver_with_an_unknown_territory_is_refused_naming_the_territory_field(
    client, auth, territory
):
    response = client.post(
        "/api/v1/organisations", json=_new_reserver(territory="99999"), headers=auth("admin")
    )

    assert assert_problem(response, 422)["errors"] == {
        "json": {"territory": ["Territoire inconnu."]}
    }


def test_organisation_code_must_be_lowercase_letters_digits_and_dashes(client, auth, territory):
    response = client.post(
        "/api/v1/organisations", json=_new_reserver(code="Ville Blagnac"), headers=auth("admin")
    )

    assert list(assert_problem(response, 422)["errors"]["json"]) == ["code"]


def test_an_admin_renames_an_organisation_code_and_territory_stay(client, auth, territory, org_ids):
    org_id = org_ids["commune-toulouse"]
    path = f"/api/v1/organisations/{org_id}"
    before = client.get(path, headers=auth("admin")).json

    response = client.patch(path, json={"name": "Ville de Toulouse"}, headers=auth("admin"))

    assert response.status_code == 200
    assert response.json == {**before, "name": "Ville de Toulouse"}
    # Only the name may change: any other field is refused, naming it.
    body = assert_problem(
        client.patch(path, json={"name": "X", "code": "autre"}, headers=auth("admin")), 422
    )
    assert list(body["errors"]["json"]) == ["code"]
    assert_problem(client.patch(path, json={"name": ""}, headers=auth("admin")), 422)
    assert_problem(
        client.patch("/api/v1/organisations/999999", json={"name": "X"}, headers=auth("admin")), 404
    )


@pytest.mark.parametrize(
    ("role", "org"),
    [("landlord", "oph-demo-garonne"), ("reserver", "commune-toulouse"), ("prefecture", "etat-31")],
)
def test_only_admins_rename_organisations(client, auth, territory, org_ids, role, org):
    path = f"/api/v1/organisations/{org_ids['commune-toulouse']}"

    response = client.patch(path, json={"name": "Pirate"}, headers=auth(role, org))

    assert_problem(response, 403)
    assert client.get(path, headers=auth("admin")).json["name"] != "Pirate"


def test_an_epci_territory_has_one_organisation_at_most(client, auth, territory):
    """The bilans of an EPCI's territory go to the organisation representing it (R.441-5-1):
    a second EPCI organisation for the same SIREN is refused, naming the territory."""
    siren = "243100518"  # Toulouse Métropole, already represented in the demo
    body = _new_reserver(code="autre-metropole", category="epci", territory=siren)

    problem = assert_problem(
        client.post("/api/v1/organisations", json=body, headers=auth("admin")), 409
    )

    assert problem["errors"] == {"json": {"territory": ["Territoire déjà représenté."]}}
