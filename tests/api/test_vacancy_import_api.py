"""The bulk import through the API (a background job to poll) and the CLI."""

from __future__ import annotations

import io
import time

import pytest
from click.testing import CliRunner

from flux.cli import main

from .conftest import assert_problem
from .vacancy_kit import ESH, OPH, TOULOUSE, action_logement, create_dwelling


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def stock(client, oph) -> list[str]:
    action_logement(client, oph, "40.00")
    numbers = [f"T{n:07d}" for n in range(6)]
    for number in numbers:
        create_dwelling(client, oph, number, TOULOUSE)
    return numbers


def _file(numbers: list[str]) -> str:
    lines = [f"{n};2026-02-{i + 1:02d};ERP-{i}" for i, n in enumerate(numbers)]
    return "\ufeffrpls_id;available_on;reference\n" + "\n".join(lines) + "\nX0000000;2026-03-01;\n"


def _post(client, headers, text: str, **query):
    return client.post(
        "/api/v1/vacancies/import",
        query_string=query,
        data={"file": (io.BytesIO(text.encode()), "annee.csv")},
        content_type="multipart/form-data",
        headers=headers,
    )


def _poll(client, headers, location: str) -> dict:
    for _ in range(300):
        body = client.get(location, headers=headers).get_json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.1)
    raise AssertionError("the import job did not end")


def test_the_api_runs_the_import_as_a_job_to_poll(client, oph, stock, auth):
    response = _post(client, oph, _file(stock), all_or_nothing="false")
    assert response.status_code == 202, response.get_json()
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/imports/{response.get_json()['id']}")
    job = _poll(client, oph, location)
    assert job["status"] == "succeeded", job
    report = job["report"]
    assert (report["created"], report["refused"], report["written"]) == (6, 1, True)
    assert report["refusals"] == [
        {"line": 8, "reason": "Logement X0000000 inconnu dans le patrimoine du bailleur."}
    ]
    vacancies = client.get("/api/v1/vacancies", headers=oph).get_json()
    assert len(vacancies) == 6 and all(v["orientation"] for v in vacancies)
    # Another landlord does not see the job; a reserver may not import.
    assert_problem(client.get(location, headers=auth("landlord", ESH)), 404)
    reserver = auth("reserver", "action-logement")
    assert_problem(_post(client, reserver, _file(stock), landlord=OPH), 403)
    # The same file again: everything already there.
    again = _poll(client, oph, _post(client, oph, _file(stock)).headers["Location"])
    assert (again["report"]["existing"], again["report"]["created"]) == (6, 0)


def test_all_or_nothing_by_default_through_the_api(client, oph, stock):
    job = _poll(client, oph, _post(client, oph, _file(stock)).headers["Location"])
    assert job["status"] == "succeeded"
    assert (job["report"]["written"], job["report"]["refused"]) == (False, 1)
    assert client.get("/api/v1/vacancies", headers=oph).get_json() == []


def test_the_cli_imports_a_file_with_progress(database_url, monkeypatch, stock, tmp_path):
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)
    path = tmp_path / "annee.csv"
    path.write_text(_file(stock[:3]).replace("X0000000;2026-03-01;\n", ""), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["import", "vacancies", str(path), "--landlord", OPH], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "3 créée(s), 0 déjà présente(s), 0 refusée(s)" in result.output
