"""Fixtures of the page tests: users with passwords, signing in through the form (with its
CSRF token), and a small world of one landlord with conventions and dwellings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import g

from flux.db import db
from flux.domain.reference import Role
from flux.services import desk, users

PASSWORD = "correct-horse-battery"
OPH, ESH = "oph-demo-garonne", "esh-demo-pastel"
TOULOUSE, MURET = "31555", "31395"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture(autouse=True)
def _forget_series():
    desk.clear_series_cache()  # test databases reuse ids


@pytest.fixture(autouse=True)
def one_transaction_per_request(request):
    """End each request's transaction, as a request's own app context does in production."""
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")

    @app.teardown_request
    def _end(_error):
        db.session.rollback()
        # Tests holding an app context share `g` between requests; production never does.
        g.pop("actor", None)
        g.pop("csrf_token", None)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
def make_user(session, territory):
    """make_user(role, org_code=None, read_only=False) -> its email (password: PASSWORD)."""
    counter = iter(range(1, 10_000))

    def make(role: str, org_code: str | None = None, read_only: bool = False) -> str:
        email = f"web{next(counter)}-{role}@test.flux.example"
        users.create_user(
            session,
            email=email,
            role=Role(role),
            org_code=org_code,
            password=PASSWORD,
            can_write=not read_only,
        )
        session.commit()
        return email

    return make


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/connexion")
    return client.post(
        "/connexion",
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "email": email,
            "password": password,
        },
    )


def post_form(client, path: str, data: dict[str, Any], page: str | None = None):
    """POST a page's form with the CSRF token read from `page` (default: the same path)."""
    html = client.get(page or path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_of(html), **data})


@pytest.fixture
def signed_in(app, make_user):
    """signed_in(role, org_code=None) -> a test client signed in as a new user of that role."""

    def make(role: str, org_code: str | None = None, read_only: bool = False):
        client = app.test_client()
        response = sign_in(client, make_user(role, org_code, read_only))
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


# --- a small world, built through the API -------------------------------------------------------


@pytest.fixture
def api(client, auth):
    """api(method, path, json) as an administrator; returns the JSON body (asserting 2xx)."""
    headers = auth("admin")

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        assert response.status_code < 300, response.get_data(as_text=True)
        return response.get_json()

    return call


def convention(reference: str, reserver: str, code: str, percent: str, **extra: Any) -> dict:
    return {
        "reference": reference,
        "landlord": extra.pop("landlord", OPH),
        "reserver": reserver,
        "departement": "31",
        "valid_from": "2025-01-01",
        "perimeter": extra.pop("perimeter", {"kind": "departement"}),
        "shares": [{"code": code, "label": f"Part {code}", "percent": percent}],
        **extra,
    }


@pytest.fixture
def world(api, territory) -> dict[str, Any]:
    """OPH with Action Logement (60 %) and Toulouse (20 %, its commune), three dwellings;
    ESH with Action Logement (30 %) and one dwelling."""
    al = api("POST", "/conventions", convention("AL", "action-logement", "salaries", "60.00"))
    tlse = api(
        "POST",
        "/conventions",
        convention(
            "TLSE",
            "commune-toulouse",
            "ville",
            "20.00",
            perimeter={"kind": "communes", "communes": [TOULOUSE]},
        ),
    )
    esh = api(
        "POST",
        "/conventions",
        convention("AL-ESH", "action-logement", "salaries", "30.00", landlord=ESH),
    )
    dwellings = {}
    for rpls, commune, landlord in (
        ("R0000001", TOULOUSE, OPH),
        ("R0000002", TOULOUSE, OPH),
        ("R0000003", MURET, OPH),
        ("E0000001", TOULOUSE, ESH),
    ):
        body = {
            "rpls_id": rpls,
            "commune": commune,
            "typology": "T3",
            "financing": "PLUS",
            "construction_year": 1990,
            "landlord": landlord,
        }
        dwellings[rpls] = api("POST", "/dwellings", body)["id"]
    return {
        "al_share": al["current"]["shares"][0]["id"],
        "tlse_share": tlse["current"]["shares"][0]["id"],
        "esh_share": esh["current"]["shares"][0]["id"],
        "dwellings": dwellings,
    }


@pytest.fixture
def log_vacancy(api):
    """log_vacancy(dwelling_id, on) -> the vacancy as the API describes it."""

    def log(dwelling_id: int, on: str, **fields: Any) -> dict[str, Any]:
        return api("POST", "/vacancies", {"dwelling": dwelling_id, "available_on": on, **fields})

    return log
