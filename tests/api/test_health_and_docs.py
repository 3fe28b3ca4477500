"""GET /health, the OpenAPI document and the browsable docs (served without internet)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from flux import create_app
from flux.db import db

from ..conftest import ON_POSTGRES

REQUIRED_PATHS = {
    "/api/v1/health",
    "/api/v1/territories/departements",
    "/api/v1/territories/departements/{code}",
    "/api/v1/territories/epcis",
    "/api/v1/territories/epcis/{siren}",
    "/api/v1/territories/communes",
    "/api/v1/territories/communes/{insee}",
    "/api/v1/territories/qpvs",
    "/api/v1/territories/qpvs/{code}",
    "/api/v1/organisations",
    "/api/v1/organisations/{organisation_id}",
    "/api/v1/dwellings",
    "/api/v1/dwellings/{dwelling_id}",
    "/api/v1/dwellings/import",
    "/api/v1/conventions",
    "/api/v1/conventions/{convention_id}",
    "/api/v1/conventions/{convention_id}/amendments",
    "/api/v1/vacancies",
    "/api/v1/vacancies/{vacancy_id}",
    "/api/v1/vacancies/{vacancy_id}/events",
    "/api/v1/balances",
}


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_health_answers_ok_with_the_database_reachable_without_a_token(client):
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_openapi_document_is_public_and_uses_openapi_3_1(client, spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] == "Flux"


def test_openapi_document_lists_every_resource_path(spec):
    missing = REQUIRED_PATHS - set(spec["paths"])
    assert not missing, f"paths missing from the OpenAPI document: {sorted(missing)}"


def test_openapi_document_declares_bearer_security_except_on_health(spec):
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []


def test_openapi_document_describes_the_csv_upload_and_if_match(spec):
    upload = spec["paths"]["/api/v1/dwellings/import"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    amend = spec["paths"]["/api/v1/conventions/{convention_id}/amendments"]["post"]
    if_match = [p for p in amend["parameters"] if p["name"] == "If-Match"]
    assert if_match and if_match[0]["in"] == "header" and if_match[0]["required"] is True
    assert {"201", "412", "428", "422"} <= set(amend["responses"])


def test_docs_page_answers_without_a_token_and_uses_local_assets_only(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the docs page references no asset"
    assert all(asset.startswith("/api/v1/docs/assets/") for asset in assets), assets
    assert "http://" not in html and "https://" not in html
    assert '"/api/v1/openapi.json"' in html


def test_docs_assets_are_served_locally(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    for asset in re.findall(r'(?:src|href)="(/api/v1/docs/assets/[^"]+)"', html):
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.data) > 200, asset
        response.close()


def test_docs_assets_refuse_paths_outside_the_bundle(client):
    response = client.get("/api/v1/docs/assets/../../../../etc/passwd")

    assert response.status_code == 404


def test_health_reports_an_unreachable_database_with_503(tmp_path):
    not_a_database = tmp_path / "flux.sqlite"
    not_a_database.mkdir()  # SQLite cannot open a directory
    app = create_app(
        {"ENV": "test", "DATABASE_URL": f"sqlite:///{not_a_database}", "TESTING": True}
    )
    try:
        response = app.test_client().get("/api/v1/health")
    finally:
        with app.app_context():
            db.engine.dispose()

    assert response.status_code == 503
    assert response.json == {"status": "degraded", "database": "unreachable"}


@pytest.mark.skipif(not ON_POSTGRES, reason="ends PostgreSQL backends")
def test_connections_lost_under_the_pool_cost_one_503_then_the_service_recovers(app, client, auth):
    # The pool does not ping before each use (a round trip per request): a dead connection
    # fails one request with 503 and Retry-After, never a 500, and the pool is renewed.
    admin = auth("admin")
    assert client.get("/api/v1/organisations", headers=admin).status_code == 200
    with app.app_context():
        url = db.engine.url
    killer = sa.create_engine(url)
    with killer.connect() as connection:
        ended = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    assert ended >= 1
    first = client.get("/api/v1/organisations", headers=admin)
    assert first.status_code in (200, 503), first.get_data(as_text=True)
    if first.status_code == 503:
        assert first.headers["Retry-After"]
        assert first.json["type"].endswith("base-indisponible")
    after = [client.get("/api/v1/organisations", headers=admin).status_code for _ in range(3)]
    assert after == [200, 200, 200]
