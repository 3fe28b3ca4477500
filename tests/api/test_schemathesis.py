"""schemathesis against the OpenAPI document, in process (issue 5, "Done when").

Every operation of /api/v1/openapi.json, as each role (admin, landlord, reserver, prefecture),
over the seeded world of seeded_world.py, with a bounded number of generated requests: valid
ones (some aimed at seeded objects, so that success responses are checked too) and invalid
ones. Checks: no 5xx, and every response conforms to the document: its status is documented
*explicitly* (the catch-all "default" response is removed from the document under test, or
it would document every status), its media type and body match what is documented for it.

A write may change the world between the examples of one operation: a later example may then
meet a 404 or a 409, which the document must describe as well. The world is restored before
each operation × role.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flux import create_app

from ..conftest import ON_POSTGRES
from .conftest import PROBLEM
from .seeded_world import A, Seed, World

OPENAPI = "/api/v1/openapi.json"
# Examples per operation × role; FLUX_SCHEMATHESIS_EXAMPLES=200 for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("FLUX_SCHEMATHESIS_EXAMPLES", "25"))
ROLES = {
    "admin": "admin",
    "landlord": "landlord-A",
    "reserver": "reserver-X",
    "prefecture": "prefecture-31",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
METHODS = ("get", "put", "post", "delete", "patch")


@cache
def _document() -> dict[str, Any]:
    app = create_app({"ENV": "test", "DATABASE_URL": "sqlite://", "TESTING": True})
    return app.test_client().get(OPENAPI).get_json()


def operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in _document()["paths"].items()
        for method in item
        if method in METHODS
    ]


def without_default_responses(document: dict[str, Any]) -> dict[str, Any]:
    """The document with no catch-all response: every status sent must be listed."""
    document = copy.deepcopy(document)
    for item in document["paths"].values():
        for method in METHODS:
            item.get(method, {}).get("responses", {}).pop("default", None)
    return document


def seeded_path_parameters(seed: Seed, caller: str) -> dict[str, Any]:
    """Path parameters naming seeded objects (landlord A's, the caller's own user)."""
    return {
        "organisation_id": seed.org[A],
        "landlord_id": seed.org[A],
        "departement": "31",
        "code": "31",
        "siren": "243100518",
        "insee": "31555",
        "dwelling_id": seed.dwelling["A-spare"],
        "convention_id": seed.convention["A-X"],
        "vacancy_id": seed.vacancy["A-X"],
        "user_id": seed.user[caller],
        "token_id": seed.spare_token["landlord-A"],
    }


@pytest.fixture(scope="module")
def world(_template, tmp_path_factory):
    built = World(_template, tmp_path_factory.mktemp("schemathesis"), ON_POSTGRES)
    yield built
    built.close()


@pytest.fixture(scope="module")
def schema(world):
    document = world.client().get(OPENAPI).get_json()
    loaded = schemathesis.openapi.from_dict(without_default_responses(document))
    loaded.app = world.app  # requests go to the app in process (WSGI)
    return loaded


def test_the_document_under_test_is_the_apps(world):
    assert world.client().get(OPENAPI).get_json() == _document()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), operations(), ids=lambda value: value)
def test_operation_conforms_to_the_document(world, schema, method, path, role):
    world.ensure_clean()
    if method != "GET":
        world.dirty = True
    caller = ROLES[role]
    operation = schema[path][method]
    headers = world.seed.headers(caller)
    names = {parameter.name for parameter in operation.path_parameters}
    seeded = {
        name: value
        for name, value in seeded_path_parameters(world.seed, caller).items()
        if name in names
    }
    strategies = [operation.as_strategy(GenerationMode.POSITIVE, headers=headers)]
    if seeded:
        strategies.append(
            operation.as_strategy(GenerationMode.POSITIVE, headers=headers, path_parameters=seeded)
        )
    strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, headers=headers))

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def conforms(case):
        response = case.call()
        case.validate_response(response, checks=CHECKS)

    conforms()


# --- bad input the generator seldom produces (each found by hand, each once a 500 or an
# --- answer that differed between SQLite and PostgreSQL) ---------------------------------------

BAD_INPUT = {
    "NUL in a body field": (
        "POST",
        "/api/v1/organisations",
        {"json": {"code": "nouveau", "name": "Nou\x00veau", "kind": "landlord"}},
        422,
        {"json": ["name"]},
    ),
    "NUL in a query parameter": (
        "GET",
        "/api/v1/dwellings",
        {"query_string": {"commune": "31\x00555"}},
        422,
        {"query": ["commune"]},
    ),
    "NUL in a path segment": ("GET", "/api/v1/territories/communes/31%00555", {}, 404, None),
    "NUL in an Idempotency-Key": (
        "POST",
        "/api/v1/vacancies",
        {
            "json": {"dwelling": 1, "available_on": "2025-04-01"},
            "headers": {"Idempotency-Key": "clé\x00"},
        },
        422,
        {"headers": ["Idempotency-Key"]},
    ),
    "an unknown organisation for a new user": (
        "POST",
        "/api/v1/users",
        {"json": {"email": "n@acces.test.flux.example", "role": "landlord", "organisation": "x"}},
        422,
        {"json": ["organisation"]},
    ),
    "a control character in X-Request-Id (recorded with the write)": (
        "POST",
        "/api/v1/organisations",
        {
            "json": {"code": "nouveau", "name": "Nouveau", "kind": "landlord"},
            "headers": {"X-Request-Id": "req\x00"},
        },
        201,
        None,
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=str)
def test_bad_input_is_refused_naming_the_field(world, case):
    method, path, request, status, fields = BAD_INPUT[case]
    world.ensure_clean()
    world.dirty = method != "GET"
    headers = {**request.get("headers", {}), **world.seed.headers("landlord-A")}
    if path in ("/api/v1/organisations", "/api/v1/users"):
        headers.update(world.seed.headers("admin"))
    kwargs = {key: value for key, value in request.items() if key != "headers"}

    response = world.client().open(path, method=method, headers=headers, **kwargs)

    assert response.status_code == status, response.get_data(as_text=True)
    if status >= 400:
        assert response.mimetype == PROBLEM
    if fields is not None:
        errors = response.get_json()["errors"]
        assert {location: sorted(errors[location]) for location in errors} == fields
