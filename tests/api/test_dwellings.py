"""A landlord's stock through the API: access, validation, changes and the CSV import."""

from __future__ import annotations

import io
import json
import time
from datetime import date

import pytest

from flux.models import Dwelling, JournalEntry
from flux.services import dwellings as dwellings_service
from flux.services import territories

from .conftest import assert_problem, dwelling

OPH, ESH = "oph-demo-garonne", "esh-demo-pastel"
HEADER = "rpls_id;commune;qpv;typology;financing;construction_year;out_of_flux\n"


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def esh(auth, territory) -> dict:
    return auth("landlord", ESH)


def _create(client, headers, **fields) -> dict:
    response = client.post("/api/v1/dwellings", json=dwelling(**fields), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


# --- create and read --------------------------------------------------------------------


def test_landlord_creates_a_dwelling_in_its_own_stock(client, oph, org_ids, committed):
    response = client.post(
        "/api/v1/dwellings", json=dwelling(qpv="QP031007", typology="T6+"), headers=oph
    )

    assert response.status_code == 201
    assert response.json == {
        "id": response.json["id"],
        "landlord_id": org_ids[OPH],
        "rpls_id": "R0000001",
        "commune": "31555",
        "qpv": "QP031007",
        "typology": "T6+",
        "financing": "PLUS",
        "construction_year": 1990,
        "out_of_flux": None,
        "in_flux": True,
        # Optional attributes for the réservataire, not given here.
        **dict.fromkeys(
            ("address", "floor", "surface", "rooms", "rent", "charges", "pmr", "lift"), None
        ),
        "landlord_contact": None,
    }
    assert committed(Dwelling) == 1


def test_landlord_cannot_create_a_dwelling_in_another_landlords_stock(client, oph, committed):
    response = client.post("/api/v1/dwellings", json=dwelling(landlord=ESH), headers=oph)

    body = assert_problem(response, 403)
    assert body["detail"] == "Seul le bailleur peut modifier son patrimoine."
    assert committed(Dwelling) == 0


def test_reserver_cannot_create_a_dwelling(client, auth, territory, committed):
    headers = auth("reserver", "commune-toulouse")

    response = client.post("/api/v1/dwellings", json=dwelling(landlord=OPH), headers=headers)

    assert_problem(response, 403)
    assert committed(Dwelling) == 0


def test_admin_creates_a_dwelling_for_the_landlord_it_names(client, auth, territory, org_ids):
    response = client.post(
        "/api/v1/dwellings", json=dwelling(landlord=org_ids[ESH]), headers=auth("admin")
    )

    assert response.status_code == 201
    assert response.json["landlord_id"] == org_ids[ESH]


def test_admin_must_name_the_landlord(client, auth, territory):
    response = client.post("/api/v1/dwellings", json=dwelling(), headers=auth("admin"))

    assert assert_problem(response, 422)["errors"] == {"json": {"landlord": ["Requis."]}}


def test_dwelling_for_a_reserver_organisation_is_refused_naming_landlord(client, auth, territory):
    response = client.post(
        "/api/v1/dwellings", json=dwelling(landlord="etat-31"), headers=auth("admin")
    )

    assert list(assert_problem(response, 422)["errors"]["json"]) == ["landlord"]


def test_landlord_reads_its_dwelling_but_another_landlord_gets_404(client, oph, esh):
    created = _create(client, oph)

    own = client.get(f"/api/v1/dwellings/{created['id']}", headers=oph)
    other = client.get(f"/api/v1/dwellings/{created['id']}", headers=esh)

    assert own.status_code == 200
    assert own.json == created
    body = assert_problem(other, 404)
    assert body["detail"] == f"Logement {created['id']} introuvable."


def test_listing_shows_a_landlord_only_its_own_stock(client, oph, esh):
    mine = [_create(client, oph, rpls_id=f"G{n}")["id"] for n in range(3)]
    _create(client, esh, rpls_id="P1")

    response = client.get("/api/v1/dwellings", headers=oph)

    assert [d["id"] for d in response.json] == mine
    assert json.loads(response.headers["X-Pagination"])["total"] == 3


def test_reserver_sees_no_dwelling(client, auth, oph):
    created = _create(client, oph)
    reserver = auth("reserver", "action-logement")

    assert client.get("/api/v1/dwellings", headers=reserver).json == []
    assert_problem(client.get(f"/api/v1/dwellings/{created['id']}", headers=reserver), 404)


def test_prefecture_sees_every_dwelling_of_its_departement(client, auth, oph, esh):
    ids = {_create(client, oph, rpls_id="G1")["id"], _create(client, esh, rpls_id="P1")["id"]}

    response = client.get("/api/v1/dwellings", headers=auth("prefecture", "etat-31"))

    assert {d["id"] for d in response.json} == ids


def test_prefecture_does_not_see_dwellings_of_another_departement(client, auth, session, oph):
    territories.load_territory(
        session,
        {
            "departement": {"code": "32", "name": "Gers"},
            "commune": [{"insee": "32013", "name": "Auch"}],
        },
    )
    session.commit()
    in_gers = _create(client, oph, rpls_id="A1", commune="32013")
    in_toulouse = _create(client, oph, rpls_id="T1")
    prefecture = auth("prefecture", "etat-31")

    listed = client.get("/api/v1/dwellings", headers=prefecture).json

    assert [d["id"] for d in listed] == [in_toulouse["id"]]
    assert_problem(client.get(f"/api/v1/dwellings/{in_gers['id']}", headers=prefecture), 404)


def test_prefecture_cannot_write_a_landlords_stock(client, auth, territory):
    headers = auth("prefecture", "etat-31")

    response = client.post("/api/v1/dwellings", json=dwelling(landlord=OPH), headers=headers)

    assert_problem(response, 403)


def test_dwellings_are_filtered_by_commune_qpv_and_flux(client, oph):
    in_qpv = _create(client, oph, rpls_id="A", qpv="QP031007")
    plain = _create(client, oph, rpls_id="B")
    foyer = _create(client, oph, rpls_id="C", commune="31395", out_of_flux="foyer")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/dwellings?{query}", headers=oph)
        assert response.status_code == 200
        return [d["id"] for d in response.json]

    assert ids("commune=31555") == [in_qpv["id"], plain["id"]]
    assert ids("qpv=QP031007") == [in_qpv["id"]]
    assert ids("qpv=aucun") == [plain["id"], foyer["id"]]
    assert ids("in_flux=false") == [foyer["id"]]
    assert ids("in_flux=true&commune=31555") == [in_qpv["id"], plain["id"]]
    assert ids("rpls_id=B") == [plain["id"]]
    assert foyer["in_flux"] is False


def test_dwellings_are_paginated(client, oph):
    for n in range(5):
        _create(client, oph, rpls_id=f"R{n}")

    response = client.get("/api/v1/dwellings?page=2&page_size=2", headers=oph)

    assert [d["rpls_id"] for d in response.json] == ["R2", "R3"]
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 5,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 2,
        "previous_page": 1,
        "next_page": 3,
    }


# --- validation -------------------------------------------------------------------------


def test_unknown_commune_is_refused_with_422_naming_commune(client, oph):
    response = client.post("/api/v1/dwellings", json=dwelling(commune="75056"), headers=oph)

    assert assert_problem(response, 422)["errors"] == {
        "json": {"commune": ["Commune « 75056 » inconnue."]}
    }


def test_qpv_outside_the_commune_is_refused_with_422_naming_qpv(client, oph):
    response = client.post("/api/v1/dwellings", json=dwelling(qpv="QP031001"), headers=oph)

    assert assert_problem(response, 422)["errors"] == {
        "json": {"qpv": ["Le QPV « QP031001 » n'est pas dans la commune « 31555 »."]}
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("commune", "Toulouse"),
        ("typology", "T7"),
        ("financing", "HLM"),
        ("construction_year", 1700),
        ("construction_year", "vieux"),
        ("rpls_id", "R-1"),
        ("out_of_flux", "vendu"),
    ],
)
def test_invalid_field_is_refused_with_422_naming_it(client, oph, field, value):
    response = client.post("/api/v1/dwellings", json=dwelling(**{field: value}), headers=oph)

    assert list(assert_problem(response, 422)["errors"]["json"]) == [field]


def test_same_rpls_twice_in_a_stock_is_refused_with_409(client, oph, committed):
    _create(client, oph)

    response = client.post("/api/v1/dwellings", json=dwelling(), headers=oph)

    assert assert_problem(response, 409)["errors"] == {"json": {"rpls_id": ["Déjà enregistré."]}}
    assert committed(Dwelling) == 1


# --- change and delete ------------------------------------------------------------------


def test_landlord_takes_a_dwelling_out_of_the_flux(client, oph):
    created = _create(client, oph)

    response = client.patch(
        f"/api/v1/dwellings/{created['id']}",
        json={"out_of_flux": "stock_defense", "typology": "T4"},
        headers=oph,
    )

    assert response.status_code == 200
    assert response.json == {
        **created,
        "out_of_flux": "stock_defense",
        "typology": "T4",
        "in_flux": False,
    }


def test_patch_checks_the_qpv_against_the_unchanged_commune(client, oph):
    created = _create(client, oph)

    response = client.patch(
        f"/api/v1/dwellings/{created['id']}", json={"qpv": "QP031001"}, headers=oph
    )

    assert list(assert_problem(response, 422)["errors"]["json"]) == ["qpv"]


def test_rpls_number_cannot_be_changed(client, oph):
    created = _create(client, oph)

    response = client.patch(
        f"/api/v1/dwellings/{created['id']}", json={"rpls_id": "OTHER"}, headers=oph
    )

    assert assert_problem(response, 422)["errors"] == {"json": {"rpls_id": ["Champ inconnu."]}}


def test_another_landlord_cannot_change_nor_delete_a_dwelling(client, oph, esh):
    created = _create(client, oph)

    assert_problem(
        client.patch(f"/api/v1/dwellings/{created['id']}", json={"typology": "T1"}, headers=esh),
        404,
    )
    assert_problem(client.delete(f"/api/v1/dwellings/{created['id']}", headers=esh), 404)
    assert client.get(f"/api/v1/dwellings/{created['id']}", headers=oph).json == created


def test_landlord_deletes_a_dwelling_entered_by_mistake(client, oph, committed):
    created = _create(client, oph)

    response = client.delete(f"/api/v1/dwellings/{created['id']}", headers=oph)

    assert response.status_code == 204
    assert committed(Dwelling) == 0
    assert_problem(client.get(f"/api/v1/dwellings/{created['id']}", headers=oph), 404)


def test_dwelling_named_in_the_journal_cannot_be_deleted(client, session, oph, committed):
    created = _create(client, oph)
    session.add(
        JournalEntry(kind="vacancy", effective_date=date(2025, 3, 1), dwelling_id=created["id"])
    )
    session.commit()

    response = client.delete(f"/api/v1/dwellings/{created['id']}", headers=oph)

    body = assert_problem(response, 409)
    assert "out_of_flux" in body["detail"]
    assert committed(Dwelling) == 1


# --- CSV import -------------------------------------------------------------------------


def _post(client, headers, content: str | bytes, query: str = "", name: str = "stock.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        f"/api/v1/dwellings/import{query}",
        data={"file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def _import(client, headers, content: str | bytes, query: str = "") -> dict:
    """Send the file (202 and the job's address) and poll the job to its end."""
    response = _post(client, headers, content, query)
    assert response.status_code == 202, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/imports/{response.json['id']}")
    assert response.json["kind"] == "dwellings"
    for _ in range(300):
        job = client.get(location, headers=headers).json
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError("the import job did not end")


def _refused(job: dict) -> dict:
    """A job that wrote nothing because of bad lines: its lines, field by field."""
    assert job["status"] == "failed", job
    return job["report"]["files"]["file"]


def _rows(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


GOOD = _rows(
    "G1;31555;QP031007;T3;PLUS;1975;",
    "G2;31555;;T2;PLAI;2010;",
    "G3;31395;;T4;PLS;1999;foyer",
)


def test_csv_import_creates_the_landlords_dwellings(client, oph, org_ids):
    job = _import(client, oph, "\ufeff" + GOOD)

    assert job["status"] == "succeeded", job
    assert job["report"] == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": False}
    assert job["rows_read"] == 3
    listed = client.get("/api/v1/dwellings", headers=oph).json
    assert {(d["rpls_id"], d["qpv"], d["in_flux"]) for d in listed} == {
        ("G1", "QP031007", True),
        ("G2", None, True),
        ("G3", None, False),
    }
    assert {d["landlord_id"] for d in listed} == {org_ids[OPH]}


def test_csv_import_again_updates_changed_rows_and_counts_unchanged_ones(client, oph):
    _import(client, oph, GOOD)
    changed = GOOD.replace("G2;31555;;T2;PLAI;2010;", "G2;31555;;T2;PLAI;2011;")

    job = _import(client, oph, changed)

    assert job["report"] == {"created": 0, "updated": 1, "unchanged": 2, "dry_run": False}
    listed = client.get("/api/v1/dwellings?rpls_id=G2", headers=oph).json
    assert listed[0]["construction_year"] == 2011


def test_csv_import_accepts_commas_and_optional_columns_left_out(client, oph):
    content = "rpls_id,commune,typology,financing,construction_year\nG1,31555,T1,PLUS,1960\n"

    job = _import(client, oph, content)

    assert job["report"]["created"] == 1


def test_csv_import_dry_run_reports_without_writing(client, oph, committed):
    job = _import(client, oph, GOOD, query="?dry_run=true")

    assert job["status"] == "succeeded" and job["dry_run"] is True
    assert job["report"] == {"created": 3, "updated": 0, "unchanged": 0, "dry_run": True}
    assert committed(Dwelling) == 0


def test_csv_import_with_one_bad_line_writes_nothing_and_names_line_and_field(
    client, oph, committed
):
    _create(client, oph, rpls_id="EXISTING")
    content = _rows(
        "G1;31555;;T3;PLUS;1975;",
        "G2;31555;;T9;PLUS;1980;",
        "G3;31395;;T4;PLS;1999;",
    )

    job = _import(client, oph, content)

    assert job["error"] == "1 ligne(s) invalide(s) : rien n'a été importé."
    [(line, fields)] = _refused(job).items()
    assert line == "3"
    assert list(fields) == ["typology"]
    assert committed(Dwelling) == 1


def test_csv_import_reports_every_bad_line(client, oph, committed):
    content = _rows(
        "G1;75056;;T3;PLUS;1975;",
        "G2;31555;QP031001;T2;PLUS;1980;",
        "G3;31555;;T2;PLUS;;",
        "G1;31555;;T2;PLUS;1990;",
        "G5;31555;;T2;PLUS;1990;",
    )

    lines = _refused(_import(client, oph, content))

    assert {line: sorted(fields) for line, fields in lines.items()} == {
        "2": ["commune"],
        "3": ["qpv"],
        "4": ["construction_year"],
        "5": ["rpls_id"],
    }
    assert lines["5"]["rpls_id"] == ["Déjà présent ligne 2."]
    assert committed(Dwelling) == 0


def test_csv_import_with_a_wrong_header_names_the_columns(client, oph):
    content = "rpls;commune;typology;financing;construction_year;colour\nG1;31555;T3;PLUS;1975;x\n"

    header = _refused(_import(client, oph, content))["1"]["header"]
    assert header == ["colonnes inconnues : colour, rpls", "colonnes manquantes : rpls_id"]


def test_csv_import_of_a_file_not_in_utf8_is_refused(client, oph, committed):
    content = _rows("G1;31555;;T3;PLUS;1975;").replace("G1", "Gé").encode("latin-1")

    job = _import(client, oph, content)

    assert job["status"] == "failed"
    assert job["error"] == "Le fichier doit être encodé en UTF-8."
    assert "file" in job["report"]["files"]
    assert committed(Dwelling) == 0


def test_csv_import_of_a_header_only_file_is_refused(client, oph):
    job = _import(client, oph, HEADER)

    assert job["status"] == "failed"
    assert job["error"] == "Le fichier ne contient aucune ligne de logement."


def test_csv_import_without_a_file_is_refused_naming_the_file_field(client, oph):
    response = client.post(
        "/api/v1/dwellings/import", data={}, headers=oph, content_type="multipart/form-data"
    )

    assert assert_problem(response, 422)["errors"] == {"files": {"file": ["Champ requis."]}}


def test_landlord_cannot_import_into_another_landlords_stock(client, oph, committed):
    response = _post(client, oph, GOOD, query=f"?landlord={ESH}")

    assert_problem(response, 403)
    assert committed(Dwelling) == 0


def test_admin_imports_into_the_landlord_named_in_the_query(client, auth, territory, org_ids):
    headers = auth("admin")

    job = _import(client, headers, GOOD, query=f"?landlord={ESH}")

    assert job["report"]["created"] == 3
    assert job["landlord_id"] == org_ids[ESH]
    listed = client.get(f"/api/v1/dwellings?landlord={org_ids[ESH]}", headers=headers).json
    assert len(listed) == 3


def test_admin_import_without_a_landlord_is_refused_naming_the_landlord_parameter(
    client, auth, territory
):
    response = _post(client, auth("admin"), GOOD)

    assert assert_problem(response, 422)["errors"] == {"query": {"landlord": ["Requis."]}}


@pytest.mark.parametrize("landlord", ["nobody", "etat-31"])
def test_admin_import_for_an_unknown_or_non_landlord_is_refused_naming_the_parameter(
    client, auth, territory, committed, landlord
):
    response = _post(client, auth("admin"), GOOD, query=f"?landlord={landlord}")

    assert list(assert_problem(response, 422)["errors"]) == ["query"]
    assert committed(Dwelling) == 0


def test_admin_import_names_the_landlord_by_id_or_by_code(client, auth, territory, org_ids):
    headers = auth("admin")

    by_id = _import(client, headers, GOOD, query=f"?landlord={org_ids[ESH]}")
    by_code = _import(client, headers, GOOD, query=f"?landlord={ESH}")

    assert by_id["status"] == "succeeded", by_id
    assert by_id["report"]["created"] == 3
    assert by_code["report"]["unchanged"] == 3


def test_csv_import_refuses_a_line_with_more_values_than_columns(client, oph, committed):
    content = _rows("G1;31555;;T3;PLUS;1975;", "G2;31555;;T3;PLUS;1975;;surplus")

    lines = _refused(_import(client, oph, content + "G3;31555;;T3;PLUS;1975;;\n"))

    assert lines == {"3": {"_schema": ["Valeurs au-delà des colonnes de l'en-tête : surplus."]}}
    assert committed(Dwelling) == 0


def test_csv_import_refuses_a_field_beyond_the_csv_modules_limit_naming_its_line(
    client, oph, committed
):
    content = "rpls_id;commune;typology;financing;construction_year\nX1;31555;T3;PLUS;"

    lines = _refused(_import(client, oph, content + "9" * 200_000 + "\n"))

    assert list(lines) == ["2"] and "illisible en CSV" in lines["2"]["_schema"][0]
    assert committed(Dwelling) == 0


def test_csv_import_refuses_a_header_naming_a_column_twice(client, oph):
    content = (
        "rpls_id;rpls_id;commune;typology;financing;construction_year\nX1;X2;31555;T3;PLUS;1990\n"
    )

    header = _refused(_import(client, oph, content))["1"]["header"]

    assert header == ["colonnes en double : rpls_id"]


def test_csv_import_reads_by_batches_and_keeps_nothing_if_a_later_batch_is_bad(
    client, oph, committed, monkeypatch
):
    monkeypatch.setattr(dwellings_service, "BATCH", 2)  # five rows: three batches
    good = [f"B{n};31555;;T3;PLUS;1975;" for n in range(1, 6)]

    lines = _refused(_import(client, oph, _rows(*good[:4], "B1;31555;;T2;PLUS;1980;")))

    assert lines == {"6": {"rpls_id": ["Déjà présent ligne 2."]}}
    assert committed(Dwelling) == 0  # the first two batches were written, then rolled back
    job = _import(client, oph, _rows(*good))
    assert (job["status"], job["rows_read"], job["report"]["created"]) == ("succeeded", 5, 5)
    assert committed(Dwelling) == 5
    again = _import(client, oph, _rows(*good[:4], "B5;31555;;T4;PLUS;1975;"))
    assert again["report"] == {"created": 0, "updated": 1, "unchanged": 4, "dry_run": False}
