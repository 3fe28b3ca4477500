"""Security headers on every response; CORS off by default."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path", ["/api/v1/health", "/api/v1/dwellings", "/api/v1/nowhere", "/api/v1/openapi.json"]
)
def test_every_response_forbids_sniffing_framing_and_loading_anything(client, path):
    response = client.get(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_docs_page_runs_under_a_csp_without_inline_scripts(client):
    response = client.get("/api/v1/docs")
    policy = response.headers["Content-Security-Policy"]

    script_src = next(part for part in policy.split(";") if "script-src" in part)
    assert script_src.strip() == "script-src 'self'"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script to allow


def test_authenticated_answers_are_not_cached(client, auth, territory):
    response = client.get("/api/v1/organisations", headers=auth("admin"))

    assert response.headers["Cache-Control"] == "no-store"


def test_cors_is_off_no_origin_is_ever_allowed(client, auth, territory):
    origin = {"Origin": "https://elsewhere.example"}
    preflight = client.options(
        "/api/v1/organisations",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    simple = client.get("/api/v1/organisations", headers={**origin, **auth("admin")})

    for response in (preflight, simple):
        names = [name for name, _ in response.headers.items()]
        assert not any(name.startswith("Access-Control-Allow") for name in names)
