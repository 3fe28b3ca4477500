"""What a réservataire needs to choose candidates (issue 11 item 6): optional dwelling
attributes through the API and the CSV import, shown on oriented vacancies to the landlord and
to the holder only."""

from __future__ import annotations

import io
import time

import pytest

from .vacancy_kit import OPH, TOULOUSE, action_logement, logged, recorded

HEADER = (
    "rpls_id;commune;typology;financing;construction_year;address;floor;surface;rooms;rent;"
    "charges;pmr;lift;landlord_contact\n"
)
ROW = (
    "D0000001;31555;T3;PLUS;1990;12 rue des Lilas;2;65,40;3;512,30;80;oui;non;"
    "attributions@oph.example\n"
)


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def _import(client, headers, content: str) -> dict:
    """The import job (202, then polled to its end)."""
    response = client.post(
        "/api/v1/dwellings/import",
        data={"file": (io.BytesIO(content.encode()), "stock.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    for _ in range(300):
        job = client.get(response.headers["Location"], headers=headers).get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError("the import job did not end")


def test_the_import_takes_the_optional_attributes_in_french_writing(client, oph):
    assert _import(client, oph, HEADER + ROW)["status"] == "succeeded"

    listed = client.get("/api/v1/dwellings", headers=oph).get_json()

    found = listed[0]
    assert (found["address"], found["floor"], found["surface"], found["rooms"]) == (
        "12 rue des Lilas",
        2,
        "65.40",
        3,
    )
    assert (found["rent"], found["charges"], found["pmr"], found["lift"]) == (
        "512.30",
        "80.00",
        True,
        False,
    )
    assert found["landlord_contact"] == "attributions@oph.example"


def test_bad_attributes_are_refused_with_their_line_and_field(client, oph):
    bad = ROW.replace("65,40", "soixante").replace(";2;", ";200;")
    job = _import(client, oph, HEADER + bad)
    assert job["status"] == "failed"
    line = job["report"]["files"]["file"]["2"]
    assert set(line) == {"surface", "floor"}


def test_the_api_edits_the_attributes(client, oph):
    created = client.post(
        "/api/v1/dwellings",
        json={
            "rpls_id": "D0000002",
            "commune": TOULOUSE,
            "typology": "T2",
            "financing": "PLAI",
            "construction_year": 2001,
            "rent": "401.5",
            "pmr": True,
        },
        headers=oph,
    )
    assert created.status_code == 201, created.get_json()
    assert (created.get_json()["rent"], created.get_json()["pmr"]) == ("401.50", True)


def test_an_oriented_vacancy_shows_its_dwelling_to_the_holder_only(client, oph, auth):
    al = action_logement(client, oph, percent="100.00")
    assert _import(client, oph, HEADER + ROW)["status"] == "succeeded"
    home = client.get("/api/v1/dwellings", headers=oph).get_json()[0]["id"]
    vacancy = logged(client, oph, home, "2025-03-01")
    assert vacancy["holder"]["share_id"] == al
    holder_user = auth("reserver", "action-logement")

    seen = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=holder_user).get_json()

    details = seen["dwelling_details"]
    assert details["address"] == "12 rue des Lilas"
    assert details["commune_name"] == "Toulouse"
    assert (details["surface"], details["rent"], details["charges"]) == ("65.40", "512.30", "80.00")
    assert details["landlord_contact"] == "attributions@oph.example"
    listed = client.get("/api/v1/vacancies", headers=holder_user).get_json()
    assert listed[0]["dwelling_details"] == details
    # Once the landlord has taken it back, Action Logement no longer holds it: no details.
    recorded(
        client, oph, vacancy["id"], "override", "2025-03-02", share="landlord", reason="urgence"
    )
    after = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=holder_user).get_json()
    assert after["dwelling_details"] is None
    prefecture = auth("prefecture", "etat-31")
    assert (
        client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=prefecture).get_json()[
            "dwelling_details"
        ]
        is None
    )
    assert (
        client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).get_json()["dwelling_details"]
        == details
    )
