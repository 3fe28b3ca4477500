"""Helpers shared by the API tests: payload factories, organisation ids, committed row counts."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from flux.db import create_engine, db
from flux.models import Organisation

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    return body


@pytest.fixture(autouse=True)
def one_transaction_per_request(request):
    """End each request's transaction, as a request's own app context does in production.

    Tests that hold an app context (the `session` fixture) make every request share one
    session: without this, a refused request's flushed rows would be committed by the next.
    """
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")

    @app.teardown_request
    def _end(_error):
        db.session.rollback()


@pytest.fixture
def org_ids(session, territory) -> dict[str, int]:
    """Organisation code -> id, for the demo organisations."""
    return dict(session.execute(sa.select(Organisation.code, Organisation.id)).all())


@pytest.fixture
def committed(database_url):
    """committed(model) -> rows of that table as another connection sees them (committed)."""
    engine = create_engine(database_url)

    def count(model) -> int:
        with engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.count()).select_from(model))

    yield count
    engine.dispose()


def dwelling(**overrides: Any) -> dict[str, Any]:
    """A valid dwelling payload (Toulouse, T3, PLUS), overridden field by field."""
    return {
        "rpls_id": "R0000001",
        "commune": "31555",
        "typology": "T3",
        "financing": "PLUS",
        "construction_year": 1990,
        **overrides,
    }


ETAT_SHARES = [
    {
        "code": "prioritaires",
        "label": "Publics prioritaires",
        "percent": "25.00",
        "purpose": "prioritaires",
    },
    {
        "code": "agents",
        "label": "Agents civils et militaires de l'État",
        "percent": "5.00",
        "purpose": "agents_etat",
    },
]


def share(code: str = "general", percent: str = "10.00", **extra: Any) -> dict[str, Any]:
    return {"code": code, "label": f"Part {code}", "percent": percent, **extra}


def convention(
    reference: str = "TEST-1",
    landlord: str = "oph-demo-garonne",
    reserver: str = "action-logement",
    shares: list[dict[str, Any]] | None = None,
    perimeter: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid convention payload (département 31, from 2025-01-01)."""
    return {
        "reference": reference,
        "landlord": landlord,
        "reserver": reserver,
        "departement": "31",
        "valid_from": "2025-01-01",
        "perimeter": perimeter or {"kind": "departement"},
        "shares": shares if shares is not None else [share()],
        **extra,
    }
