"""Helpers for the vacancy and balance API tests: conventions, dwellings, vacancies, events."""

from __future__ import annotations

from typing import Any

from .conftest import ETAT_SHARES, convention, share

OPH, ESH = "oph-demo-garonne", "esh-demo-pastel"
TOULOUSE, COLOMIERS, MURET, BLAGNAC = "31555", "31149", "31395", "31069"
LANDLORD = "landlord"


def create_convention(
    client,
    headers: dict,
    reference: str,
    reserver: str,
    shares: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """POST a convention; returns its body (share ids in body["current"]["shares"])."""
    payload = convention(reference, extra.pop("landlord", OPH), reserver, shares, **extra)
    response = client.post("/api/v1/conventions", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def share_ids(body: dict[str, Any]) -> dict[str, int]:
    """Share code -> id, for a convention body."""
    return {s["code"]: s["id"] for s in body["current"]["shares"]}


def action_logement(client, headers, percent: str = "50.00", **extra: Any) -> int:
    body = create_convention(
        client, headers, "AL", "action-logement", [share("salaries", percent)], **extra
    )
    return share_ids(body)["salaries"]


def toulouse(client, headers, percent: str = "20.00", **extra: Any) -> int:
    body = create_convention(
        client,
        headers,
        "TLSE",
        "commune-toulouse",
        [share("ville", percent)],
        perimeter={"kind": "communes", "communes": [TOULOUSE]},
        **extra,
    )
    return share_ids(body)["ville"]


def etat(client, headers, **extra: Any) -> dict[str, int]:
    body = create_convention(
        client, headers, "ETAT", "etat-31", [dict(s) for s in ETAT_SHARES], **extra
    )
    return share_ids(body)


def create_dwelling(client, headers, rpls_id: str, commune: str = TOULOUSE, **fields: Any) -> int:
    payload = {
        "rpls_id": rpls_id,
        "commune": commune,
        "typology": "T3",
        "financing": "PLUS",
        "construction_year": 1990,
        **fields,
    }
    response = client.post("/api/v1/dwellings", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def log(client, headers, dwelling: int, on: str, key: str | None = None, **fields: Any):
    """POST /vacancies; returns the response.

    The tests log past dates as if on time: the reserver is said to be told on the vacancy's
    date (`notified_on`), unless a test gives another day or `notified_on=None` (late logging,
    the delay then runs from today)."""
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    fields.setdefault("notified_on", on)
    if fields["notified_on"] is None:
        del fields["notified_on"]
    return client.post(
        "/api/v1/vacancies",
        json={"dwelling": dwelling, "available_on": on, **fields},
        headers=headers,
    )


def logged(client, headers, dwelling: int, on: str, **fields: Any) -> dict[str, Any]:
    """POST /vacancies expecting 201; returns the vacancy."""
    response = log(client, headers, dwelling, on, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def holder(vacancy: dict[str, Any]) -> int | str:
    """The share (id) or "landlord" a vacancy is oriented to now."""
    found = vacancy["holder"]
    return LANDLORD if found["landlord_part"] else found["share_id"]


def event(client, headers, vacancy_id: int, type_: str, on: str, **fields: Any):
    """POST /vacancies/{id}/events; returns the response."""
    return client.post(
        f"/api/v1/vacancies/{vacancy_id}/events",
        json={"type": type_, "date": on, **fields},
        headers=headers,
    )


def recorded(client, headers, vacancy_id: int, type_: str, on: str, **fields: Any) -> dict:
    """POST an event expecting 201; returns the vacancy after it."""
    response = event(client, headers, vacancy_id, type_, on, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def balance_rows(client, headers, as_of: str, **query: Any) -> list[dict[str, Any]]:
    params = {"as_of": as_of, **query}
    response = client.get("/api/v1/balances", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def balances_by_share(client, headers, as_of: str, **query: Any) -> dict[int | str, dict]:
    """Balance rows keyed by share id, the landlord part under "landlord" (one scope)."""
    rows = balance_rows(client, headers, as_of, **query)
    keyed = {LANDLORD if row["landlord_part"] else row["share_id"]: row for row in rows}
    assert len(keyed) == len(rows), "several scopes: filter by landlord"
    return keyed


def figures(row: dict[str, Any]) -> tuple[int, str, int]:
    """(eligible, target, realised) of a balance row."""
    return row["eligible"], row["target"], row["realised"]
