"""Conventions through the API: caps refused with rule and figures, warnings, amendments
with ETag / If-Match, the label, visibility by role and pagination."""

from __future__ import annotations

import json

import pytest

from flux.models import Convention, ConventionVersion, ShareTerms
from flux.services import territories

from .conftest import ETAT_SHARES, assert_problem, convention, share

OPH, ESH = "oph-demo-garonne", "esh-demo-pastel"


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def _create(client, headers, payload: dict) -> dict:
    response = client.post("/api/v1/conventions", json=payload, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def _etat(percent_prioritaires: str = "25.00", percent_agents: str = "5.00") -> dict:
    prioritaires, agents = (dict(s) for s in ETAT_SHARES)
    prioritaires["percent"], agents["percent"] = percent_prioritaires, percent_agents
    return convention("ETAT-OPH", reserver="etat-31", shares=[prioritaires, agents])


def _refusal(response, rule: str) -> dict:
    body = assert_problem(response, 422)
    assert body["rule"] == rule
    assert body["type"] == f"urn:flux:probleme:regle:{rule}"
    assert body["title"] == "Règle de gestion non respectée"
    return body


# --- creation -----------------------------------------------------------------------------


def test_landlord_creates_a_convention_and_reads_back_its_terms(client, oph, org_ids):
    response = client.post(
        "/api/v1/conventions",
        json=convention(label="Action Logement 31", shares=[share("salaries", "12.50")]),
        headers=oph,
    )

    assert response.status_code == 201
    body = response.json
    assert body["reference"] == "TEST-1"
    assert body["label"] == "Action Logement 31"
    assert body["landlord"]["id"] == org_ids[OPH]
    assert body["reserver"] == {
        "id": org_ids["action-logement"],
        "code": "action-logement",
        "name": "Action Logement Services",
        "category": "action_logement",
    }
    assert body["departement"] == "31"
    assert body["revision"] == 1
    assert body["warnings"] == []
    assert len(body["versions"]) == 1
    current = body["current"]
    assert current["number"] == 1
    assert current["effective_from"] == current["valid_from"] == "2025-01-01"
    assert current["perimeter"] == {"kind": "departement", "code": "31", "communes": []}
    assert current["policies"]["designation_deadline_days"] == 30
    assert current["policies"]["counting_event"] == "orientation"
    [only] = current["shares"]
    assert only | {"id": 0} == {
        "id": 0,
        "code": "salaries",
        "label": "Part salaries",
        "percent": "12.50",
        "purpose": "general",
        "guarantee_backed": False,
        "ends_on": None,
        "loan_repaid_on": None,
    }
    assert response.headers["ETag"] == f'"convention-{body["id"]}-r1"'


def test_etat_convention_at_30_percent_is_accepted(client, oph):
    body = _create(client, oph, _etat())

    assert [(s["purpose"], s["percent"]) for s in body["current"]["shares"]] == [
        ("prioritaires", "25.00"),
        ("agents_etat", "5.00"),
    ]


def test_etat_convention_at_30_01_percent_is_refused_with_rule_and_figures(client, oph, committed):
    response = client.post("/api/v1/conventions", json=_etat("25.01"), headers=oph)

    body = _refusal(response, "etat_total_above_30")
    assert body["figures"] == {
        "effective_from": "2025-01-01",
        "total_bp": 3001,
        "limit_bp": 3000,
    }
    assert "30,01 %" in body["detail"] and "30,00 %" in body["detail"]
    assert "R.441-5-2" in body["detail"]
    assert list(body["errors"]["json"]) == ["shares"]
    assert committed(Convention) == 0


def test_etat_agents_share_above_5_percent_is_refused(client, oph, committed):
    response = client.post("/api/v1/conventions", json=_etat("20.00", "5.01"), headers=oph)

    body = _refusal(response, "etat_agents_above_5")
    assert body["figures"]["total_bp"] == 501
    assert body["figures"]["limit_bp"] == 500
    assert committed(Convention) == 0


def test_etat_purpose_on_another_reservers_convention_is_refused(client, oph):
    payload = convention(shares=[share("p", "10.00", purpose="prioritaires")])

    response = client.post("/api/v1/conventions", json=payload, headers=oph)

    _refusal(response, "etat_purpose_outside_etat")


def test_shares_over_100_percent_in_a_commune_are_refused_naming_the_commune(
    client, oph, committed
):
    _create(client, oph, convention("AL", shares=[share("salaries", "60.00")]))
    toulouse = convention(
        "TLSE",
        reserver="commune-toulouse",
        perimeter={"kind": "communes", "communes": ["31555"]},
        shares=[share("ville", "40.01")],
    )

    response = client.post("/api/v1/conventions", json=toulouse, headers=oph)

    body = _refusal(response, "commune_total_above_100")
    assert body["figures"] == {
        "commune": "31555",
        "date": "2025-01-01",
        "total_bp": 10001,
        "limit_bp": 10000,
        "contribution:AL": 6000,
        "contribution:TLSE": 4001,
    }
    assert "31555" in body["detail"] and "100,01 %" in body["detail"]
    assert committed(Convention) == 1


def test_shares_of_another_landlord_do_not_count_in_the_commune_total(client, auth, oph):
    _create(client, oph, convention("AL-OPH", shares=[share("salaries", "60.00")]))
    toulouse = convention(
        "TLSE-ESH",
        landlord=ESH,
        reserver="commune-toulouse",
        perimeter={"kind": "communes", "communes": ["31555"]},
        shares=[share("ville", "50.00")],
    )

    response = client.post("/api/v1/conventions", json=toulouse, headers=auth("landlord", ESH))

    assert response.status_code == 201


def test_guarantee_backed_collectivite_share_above_20_percent_is_accepted_with_a_warning(
    client, oph
):
    payload = convention(
        "TLSE",
        reserver="commune-toulouse",
        perimeter={"kind": "communes", "communes": ["31555"]},
        shares=[share("garanties", "25.00", guarantee_backed=True)],
    )

    body = _create(client, oph, payload)

    [warning] = body["warnings"]
    assert warning["rule"] == "guarantee_share_above_20"
    assert warning["figures"] == {
        "commune": "31555",
        "total_bp": 2500,
        "limit_bp": 2000,
        "effective_from": "2025-01-01",
        "contribution:TLSE": 2500,
    }
    assert "25,00 %" in warning["message"] and "20,00 %" in warning["message"]


def test_guarantee_backed_share_of_20_percent_gives_no_warning(client, oph):
    payload = convention(
        "TLSE",
        reserver="commune-toulouse",
        perimeter={"kind": "communes", "communes": ["31555"]},
        shares=[share("garanties", "20.00", guarantee_backed=True)],
    )

    assert _create(client, oph, payload)["warnings"] == []


def test_second_convention_for_the_same_reserver_and_departement_is_refused(client, oph):
    _create(client, oph, convention("AL-1"))

    response = client.post("/api/v1/conventions", json=convention("AL-2"), headers=oph)

    body = _refusal(response, "duplicate_convention")
    assert body["figures"]["other_reference"] == "AL-1"


def test_reused_reference_is_refused_with_409_naming_reference(client, auth, oph):
    _create(client, oph, convention("SAME"))
    payload = convention("SAME", landlord=ESH)

    response = client.post("/api/v1/conventions", json=payload, headers=auth("landlord", ESH))

    assert assert_problem(response, 409)["errors"] == {
        "json": {"reference": ["Référence déjà utilisée."]}
    }


def test_commune_convention_outside_the_communes_territory_is_refused(client, oph):
    payload = convention(
        "TLSE",
        reserver="commune-toulouse",
        perimeter={"kind": "communes", "communes": ["31555", "31149"]},
    )

    response = client.post("/api/v1/conventions", json=payload, headers=oph)

    body = _refusal(response, "perimeter_outside_territory")
    assert body["figures"]["communes"] == "31149"
    assert list(body["errors"]["json"]) == ["perimeter"]


def test_unknown_commune_in_the_perimeter_is_refused_naming_perimeter(client, oph):
    payload = convention(perimeter={"kind": "communes", "communes": ["31555", "99999"]})

    response = client.post("/api/v1/conventions", json=payload, headers=oph)

    body = assert_problem(response, 422)
    assert "99999" in body["detail"]
    assert list(body["errors"]["json"]) == ["perimeter"]


def test_communes_perimeter_without_communes_is_refused(client, oph):
    response = client.post(
        "/api/v1/conventions", json=convention(perimeter={"kind": "communes"}), headers=oph
    )

    errors = assert_problem(response, 422)["errors"]
    assert errors == {"json": {"perimeter": {"communes": ["Liste de communes requise."]}}}


@pytest.mark.parametrize(
    ("field", "value"),
    [("landlord", "nobody"), ("landlord", "etat-31"), ("reserver", OPH)],
)
def test_wrong_landlord_or_reserver_is_refused_naming_the_field(
    client, auth, territory, field, value
):
    response = client.post(
        "/api/v1/conventions", json=convention(**{field: value}), headers=auth("admin")
    )

    assert list(assert_problem(response, 422)["errors"]["json"]) == [field]


@pytest.mark.parametrize("percent", ["30.001", "abc", "-5", "101"])
def test_malformed_or_out_of_range_percent_is_refused_with_422(client, oph, percent):
    response = client.post(
        "/api/v1/conventions", json=convention(shares=[share("g", percent)]), headers=oph
    )

    body = assert_problem(response, 422)
    assert "shares" in body["errors"]["json"]


def test_valid_until_before_valid_from_is_refused(client, oph):
    payload = convention(valid_until="2024-12-31")

    response = client.post("/api/v1/conventions", json=payload, headers=oph)

    body = _refusal(response, "invalid_dates")
    assert list(body["errors"]["json"]) == ["valid_until"]


# --- who may write ------------------------------------------------------------------------


def test_landlord_cannot_create_a_convention_for_another_landlord(client, oph, committed):
    response = client.post("/api/v1/conventions", json=convention(landlord=ESH), headers=oph)

    assert_problem(response, 403)
    assert committed(Convention) == 0


def test_reserver_cannot_create_a_convention(client, auth, territory, committed):
    headers = auth("reserver", "action-logement")

    response = client.post("/api/v1/conventions", json=convention(), headers=headers)

    assert_problem(response, 403)
    assert committed(Convention) == 0


def test_prefecture_creates_the_etats_conventions_of_its_departement_only(client, auth, territory):
    prefecture = auth("prefecture", "etat-31")

    etat = client.post("/api/v1/conventions", json=_etat(), headers=prefecture)
    other = client.post("/api/v1/conventions", json=convention(), headers=prefecture)

    assert etat.status_code == 201
    assert_problem(other, 403)


# --- who may read -------------------------------------------------------------------------


@pytest.fixture
def three_conventions(client, auth, territory) -> dict[str, int]:
    """OPH × Action Logement, OPH × État, ESH × Action Logement: reference -> id."""
    oph, esh = auth("landlord", OPH), auth("landlord", ESH)
    return {
        "AL-OPH": _create(client, oph, convention("AL-OPH"))["id"],
        "ETAT-OPH": _create(client, oph, _etat())["id"],
        "AL-ESH": _create(client, esh, convention("AL-ESH", landlord=ESH))["id"],
    }


def _references(client, headers, query: str = "") -> set[str]:
    response = client.get(f"/api/v1/conventions{query}", headers=headers)
    assert response.status_code == 200
    return {c["reference"] for c in response.json}


def test_landlord_sees_only_its_conventions(client, auth, three_conventions):
    assert _references(client, auth("landlord", ESH)) == {"AL-ESH"}


def test_landlord_gets_404_for_another_landlords_convention(client, auth, three_conventions):
    response = client.get(
        f"/api/v1/conventions/{three_conventions['AL-OPH']}", headers=auth("landlord", ESH)
    )

    assert_problem(response, 404)


def test_reserver_sees_only_its_own_conventions(client, auth, three_conventions):
    action_logement = auth("reserver", "action-logement")
    toulouse = auth("reserver", "commune-toulouse")

    assert _references(client, action_logement) == {"AL-OPH", "AL-ESH"}
    assert _references(client, toulouse) == set()
    etat = f"/api/v1/conventions/{three_conventions['ETAT-OPH']}"
    assert_problem(client.get(etat, headers=action_logement), 404)


def test_prefecture_sees_every_convention_of_its_departement(client, auth, three_conventions):
    assert _references(client, auth("prefecture", "etat-31")) == set(three_conventions)


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


def test_prefecture_does_not_see_conventions_of_another_departement(client, auth, gers):
    admin = auth("admin")
    in_gers = _create(client, admin, convention("AL-32", departement="32"))
    _create(client, admin, convention("AL-31"))
    prefecture = auth("prefecture", "etat-31")

    assert _references(client, prefecture) == {"AL-31"}
    assert_problem(client.get(f"/api/v1/conventions/{in_gers['id']}", headers=prefecture), 404)
    assert in_gers["current"]["perimeter"]["code"] == "32"


def test_perimeter_outside_the_conventions_departement_is_refused(client, auth, gers):
    payload = convention(
        reserver="departement-31",
        perimeter={"kind": "communes", "communes": ["31555", "32013"]},
    )

    response = client.post("/api/v1/conventions", json=payload, headers=auth("admin"))

    body = _refusal(response, "perimeter_outside_departement")
    assert body["figures"]["communes"] == "32013"


def test_conventions_are_filtered_by_landlord_reserver_and_date(
    client, auth, org_ids, three_conventions
):
    admin = auth("admin")

    assert _references(client, admin, f"?landlord={org_ids[OPH]}") == {"AL-OPH", "ETAT-OPH"}
    assert _references(client, admin, f"?reserver={org_ids['etat-31']}") == {"ETAT-OPH"}
    assert _references(client, admin, "?in_force_on=2025-06-30") == set(three_conventions)
    assert _references(client, admin, "?in_force_on=2024-12-31") == set()


def test_conventions_are_paginated_with_an_x_pagination_header(client, auth, three_conventions):
    response = client.get("/api/v1/conventions?page_size=2&page=2", headers=auth("admin"))

    assert [c["id"] for c in response.json] == [three_conventions["AL-ESH"]]
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 3,
        "total_pages": 2,
        "first_page": 1,
        "last_page": 2,
        "page": 2,
        "previous_page": 1,
    }


# --- amendments and the label: ETag / If-Match ----------------------------------------------


@pytest.fixture
def created(client, oph) -> dict:
    """An Action Logement convention of 10 %, and the ETag of its first read."""
    body = _create(client, oph, convention("AL", shares=[share("salaries", "10.00")]))
    read = client.get(f"/api/v1/conventions/{body['id']}", headers=oph)
    assert read.status_code == 200
    return {"id": body["id"], "etag": read.headers["ETag"]}


AMENDMENT = {
    "effective_from": "2026-01-01",
    "note": "Avenant n° 1",
    "shares": [share("salaries", "15.00")],
}


def _amend(client, headers, created, payload=AMENDMENT, etag: str | None = "same"):
    extra = {} if etag is None else {"If-Match": created["etag"] if etag == "same" else etag}
    return client.post(
        f"/api/v1/conventions/{created['id']}/amendments",
        json=payload,
        headers={**headers, **extra},
    )


def test_amendment_without_if_match_is_refused_with_428(client, oph, created, committed):
    response = _amend(client, oph, created, etag=None)

    body = assert_problem(response, 428)
    assert body["title"] == "En-tête If-Match requis"
    assert committed(ConventionVersion) == 1


def test_amendment_with_a_stale_etag_is_refused_with_412(client, oph, created, committed):
    response = _amend(client, oph, created, etag=f'"convention-{created["id"]}-r0"')

    assert_problem(response, 412)
    assert committed(ConventionVersion) == 1


def test_amendment_adds_a_version_and_the_old_one_stays_readable(client, oph, created):
    response = _amend(client, oph, created)

    assert response.status_code == 201
    body = response.json
    assert body["revision"] == 2
    assert response.headers["ETag"] == f'"convention-{created["id"]}-r2"'
    assert [v["number"] for v in body["versions"]] == [1, 2]
    assert body["current"]["number"] == 2  # in force since 2026-01-01
    assert body["current"]["note"] == "Avenant n° 1"
    assert body["current"]["perimeter"]["kind"] == "departement"  # carried over
    history = client.get(f"/api/v1/conventions/{created['id']}/amendments", headers=oph)
    assert history.status_code == 200
    assert [
        (v["number"], v["effective_from"], v["shares"][0]["percent"]) for v in history.json
    ] == [
        (1, "2025-01-01", "10.00"),
        (2, "2026-01-01", "15.00"),
    ]
    assert history.json[0]["shares"][0]["id"] == history.json[1]["shares"][0]["id"]


def test_second_amendment_with_the_first_reads_etag_is_refused_with_412(client, oph, created):
    assert _amend(client, oph, created).status_code == 201

    second = {**AMENDMENT, "effective_from": "2027-01-01"}
    response = _amend(client, oph, created, payload=second)

    assert_problem(response, 412)


def test_amendment_over_a_cap_is_refused_and_changes_nothing(client, oph, created, committed):
    _create(client, oph, _etat())
    payload = {**AMENDMENT, "shares": [share("salaries", "70.01")]}

    response = _amend(client, oph, created, payload=payload)

    body = _refusal(response, "commune_total_above_100")
    assert body["figures"]["date"] == "2026-01-01"
    assert committed(ConventionVersion) == 2  # AL v1 and ETAT v1
    read = client.get(f"/api/v1/conventions/{created['id']}", headers=oph)
    assert read.headers["ETag"] == created["etag"]
    assert read.json["revision"] == 1


def test_amendment_taking_effect_before_the_current_version_is_refused(client, oph, created):
    payload = {**AMENDMENT, "effective_from": "2025-01-01"}

    response = _amend(client, oph, created, payload=payload)

    _refusal(response, "invalid_dates")


def test_amendment_with_a_guarantee_share_above_20_percent_warns(client, oph):
    payload = convention(
        "TLSE",
        reserver="commune-toulouse",
        perimeter={"kind": "communes", "communes": ["31555"]},
        shares=[share("garanties", "15.00", guarantee_backed=True)],
    )
    body = _create(client, oph, payload)
    etag = client.get(f"/api/v1/conventions/{body['id']}", headers=oph).headers["ETag"]
    amendment = {
        "effective_from": "2026-01-01",
        "shares": [share("garanties", "22.00", guarantee_backed=True)],
    }

    response = _amend(client, oph, {"id": body["id"], "etag": etag}, payload=amendment)

    assert response.status_code == 201
    assert [w["rule"] for w in response.json["warnings"]] == ["guarantee_share_above_20"]
    assert response.json["warnings"][0]["figures"]["effective_from"] == "2026-01-01"


def test_another_landlord_cannot_amend_a_convention(client, auth, created, committed):
    response = _amend(client, auth("landlord", ESH), created)

    assert_problem(response, 404)
    assert committed(ConventionVersion) == 1


def test_reserver_reads_but_cannot_amend_its_convention(client, auth, created, committed):
    reserver = auth("reserver", "action-logement")

    assert client.get(f"/api/v1/conventions/{created['id']}", headers=reserver).status_code == 200
    assert_problem(_amend(client, reserver, created), 403)
    assert committed(ConventionVersion) == 1


def test_reserver_without_if_match_is_told_it_may_not_write_not_to_send_an_etag(
    client, auth, created, committed
):
    response = _amend(client, auth("reserver", "action-logement"), created, etag=None)

    assert_problem(response, 403)
    assert committed(ConventionVersion) == 1


def test_unknown_field_in_an_amendment_is_refused_with_422(client, oph, created):
    payload = {**AMENDMENT, "reserver": "etat-31"}

    response = _amend(client, oph, created, payload=payload)

    assert assert_problem(response, 422)["errors"] == {"json": {"reserver": ["Champ inconnu."]}}


def test_label_change_needs_if_match(client, oph, created):
    response = client.patch(
        f"/api/v1/conventions/{created['id']}", json={"label": "Nouveau"}, headers=oph
    )

    assert_problem(response, 428)


def test_label_change_with_the_current_etag_bumps_the_revision(client, oph, created, session):
    response = client.patch(
        f"/api/v1/conventions/{created['id']}",
        json={"label": "Convention Action Logement 2025"},
        headers={**oph, "If-Match": created["etag"]},
    )

    assert response.status_code == 200
    assert response.json["label"] == "Convention Action Logement 2025"
    assert response.json["revision"] == 2
    assert response.headers["ETag"] == f'"convention-{created["id"]}-r2"'
    assert [v["number"] for v in response.json["versions"]] == [1]
    assert_problem(_amend(client, oph, created), 412)  # the old ETag is stale now


def test_label_change_with_a_stale_etag_is_refused_with_412(client, oph, created):
    client.patch(
        f"/api/v1/conventions/{created['id']}",
        json={"label": "Premier"},
        headers={**oph, "If-Match": created["etag"]},
    )

    response = client.patch(
        f"/api/v1/conventions/{created['id']}",
        json={"label": "Second"},
        headers={**oph, "If-Match": created["etag"]},
    )

    assert_problem(response, 412)
    read = client.get(f"/api/v1/conventions/{created['id']}", headers=oph)
    assert read.json["label"] == "Premier"


def test_label_patch_refuses_other_fields(client, oph, created):
    response = client.patch(
        f"/api/v1/conventions/{created['id']}",
        json={"label": "x", "shares": []},
        headers={**oph, "If-Match": created["etag"]},
    )

    assert assert_problem(response, 422)["errors"] == {"json": {"shares": ["Champ inconnu."]}}


def test_if_match_star_is_accepted(client, oph, created):
    response = client.patch(
        f"/api/v1/conventions/{created['id']}",
        json={"label": "Étoile"},
        headers={**oph, "If-Match": "*"},
    )

    assert response.status_code == 200


def test_share_terms_written_once_per_version(client, oph, created, committed):
    _amend(client, oph, created)

    assert committed(ShareTerms) == 2


def test_amendment_changes_the_policies_it_names_and_keeps_the_others(client, oph):
    payload = convention("AL", policies={"designation_deadline_days": 20, "carry_over": False})
    body = _create(client, oph, payload)
    etag = client.get(f"/api/v1/conventions/{body['id']}", headers=oph).headers["ETag"]
    amendment = {
        **AMENDMENT,
        "policies": {"designation_deadline_days": 45},
        "ends_shares": ["general"],
    }

    response = _amend(client, oph, {"id": body["id"], "etag": etag}, payload=amendment)

    first, second = (v["policies"] for v in response.json["versions"])
    assert (first["designation_deadline_days"], first["carry_over"]) == (20, False)
    assert (second["designation_deadline_days"], second["carry_over"]) == (45, False)
    assert second["candidates_per_designation"] == 3


def test_amendments_of_another_landlords_convention_answer_404(client, auth, created):
    response = client.get(
        f"/api/v1/conventions/{created['id']}/amendments", headers=auth("landlord", ESH)
    )

    assert_problem(response, 404)


def test_convention_is_created_with_its_signed_amendments(client, oph):
    payload = convention(
        "AL",
        shares=[share("salaries", "20.00")],
        amendments=[
            {"effective_from": "2026-07-01", "shares": [share("salaries", "24.00")]},
            {"effective_from": "2025-07-01", "shares": [share("salaries", "22.00")]},
        ],
    )

    body = _create(client, oph, payload)

    assert [
        (v["number"], v["effective_from"], v["shares"][0]["percent"]) for v in body["versions"]
    ] == [
        (1, "2025-01-01", "20.00"),
        (2, "2025-07-01", "22.00"),
        (3, "2026-07-01", "24.00"),
    ]
    assert body["revision"] == 1


def test_amendment_cannot_change_the_purpose_of_a_share(client, oph, committed):
    body = _create(client, oph, _etat())
    etag = client.get(f"/api/v1/conventions/{body['id']}", headers=oph).headers["ETag"]
    prioritaires, agents = (dict(s) for s in ETAT_SHARES)
    agents["purpose"] = "general"
    amendment = {"effective_from": "2026-01-01", "shares": [prioritaires, agents]}

    response = _amend(client, oph, {"id": body["id"], "etag": etag}, payload=amendment)

    body = assert_problem(response, 422)
    assert body["errors"] == {"json": {"shares": ["Objet de part incohérent."]}}
    assert committed(ConventionVersion) == 1
