"""Who may see and do what: every endpoint × every caller (issue 5, design.md §4 invariant 8).

The cells are generated from the app's URL map: an endpoint without a row in TABLE yields a
failing cell, and test_the_table_covers_exactly_the_url_map fails too (so does a row for an
endpoint that no longer exists).

The rule the table encodes:
- anonymous callers get 401 everywhere but the health check, the docs, the OpenAPI document
  and the login;
- an object the caller may not see answers 404 (whether or not the request is a write);
- a write on an object the caller sees but may not change answers 403, and so does a write
  the caller may never make (creating organisations or users, a read-only account's writes);
- lists answer 200 with only what the caller may see (checked against the seed).

Expectations per caller, in CALLER_ORDER: an exact status, or "ok" for a write that passed
access control and may answer any business status (not 401/403/404, not 5xx).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from flux import create_app

from ..conftest import ON_POSTGRES
from .conftest import PROBLEM
from .seeded_world import CALLERS, PASSWORD, A, B, Seed, World

CALLER_ORDER = ("anonymous", *CALLERS)
assert CALLER_ORDER == (
    "anonymous",
    "admin",
    "landlord-A",
    "landlord-A-ro",
    "landlord-B",
    "reserver-X",
    "reserver-Y",
    "prefecture-31",
    "prefecture-32",
)
DENIALS = {"401", "403", "404"}
V1 = "/api/v1"

Request = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """How to call one (method, rule) for each target, what each caller gets, and for lists
    what each caller may find in the body."""

    request: Callable[[Seed, str], Request]
    expected: dict[str, str]  # target -> one status per caller, in CALLER_ORDER
    check: Callable[[Seed, str, Any], None] | None = field(default=None)


def _get(path: str, **query: Any) -> Request:
    return {"path": path, "query_string": query}


def _json(path: str, body: dict[str, Any], **headers: str) -> Request:
    return {"path": path, "json": body, "headers": headers}


# --- what each caller may see in lists (written from the seed, not from the code) ------------

LANDLORD_OF = {"landlord-A": A, "landlord-A-ro": A, "landlord-B": B}
RESERVER_OF = {"reserver-X": "action-logement", "reserver-Y": "commune-muret"}
DEPARTEMENT_OF = {"prefecture-31": "31", "prefecture-32": "32"}
# Conventions (seed keys) and vacancies each reserver holds.
RESERVER_CONVENTIONS = {"reserver-X": {"A-X", "B-X"}, "reserver-Y": {"A-Y"}}
VACANCY_LANDLORD = {"A-X": A, "A-Y": A, "B-X": B, "B-32": B}
VACANCY_DEPARTEMENT = {"A-X": "31", "A-Y": "31", "B-X": "31", "B-32": "32"}
RESERVER_VACANCIES = {"reserver-X": {"A-X", "B-X"}, "reserver-Y": {"A-Y"}}
CONVENTION_LANDLORD = {"A-X": A, "A-Y": A, "A-etat": A, "B-X": B}


def _visible_dwellings(seed: Seed, caller: str) -> set[int]:
    every = set(seed.dwelling.values())
    if caller == "admin":
        return every
    if caller in LANDLORD_OF:
        landlord = seed.org[LANDLORD_OF[caller]]
        return {d for d in every if seed.dwelling_landlord[d] == landlord}
    if caller in DEPARTEMENT_OF:
        return {d for d in every if seed.dwelling_departement[d] == DEPARTEMENT_OF[caller]}
    return set()


def _visible_conventions(seed: Seed, caller: str) -> set[str]:
    every = set(seed.convention)
    if caller in ("admin", "prefecture-31"):
        return every
    if caller in LANDLORD_OF:
        return {c for c in every if CONVENTION_LANDLORD[c] == LANDLORD_OF[caller]}
    return RESERVER_CONVENTIONS.get(caller, set())


def _visible_vacancies(seed: Seed, caller: str) -> set[str]:
    every = set(seed.vacancy)
    if caller == "admin":
        return every
    if caller in LANDLORD_OF:
        return {v for v in every if VACANCY_LANDLORD[v] == LANDLORD_OF[caller]}
    if caller in DEPARTEMENT_OF:
        return {v for v in every if VACANCY_DEPARTEMENT[v] == DEPARTEMENT_OF[caller]}
    return RESERVER_VACANCIES[caller]


def _ids(body: list[dict[str, Any]], key: str = "id") -> list[Any]:
    return [item[key] for item in body]


def check_dwellings(seed: Seed, caller: str, body: Any) -> None:
    assert sorted(_ids(body)) == sorted(_visible_dwellings(seed, caller))


def check_conventions(seed: Seed, caller: str, body: Any) -> None:
    expected = {seed.convention[c] for c in _visible_conventions(seed, caller)}
    assert sorted(_ids(body)) == sorted(expected)


def check_vacancies(seed: Seed, caller: str, body: Any) -> None:
    expected = {seed.vacancy[v] for v in _visible_vacancies(seed, caller)}
    assert sorted(_ids(body)) == sorted(expected)


# R.441-5-1: Toulouse Métropole (an EPCI subject to the attribution reform in the demo
# territory, represented by an organisation) receives the bilan of A and of B in the 31, both
# with dwellings in Toulouse; the Muretain (A's Muret dwelling) has no organisation.
RECIPIENT_PAIRS = {
    "admin": 2,
    "landlord-A": 1,
    "landlord-A-ro": 1,
    "landlord-B": 1,
    "prefecture-31": 2,
}


def check_bilans(seed: Seed, caller: str, body: Any) -> None:
    """One row per landlord × département × reserver of the conventions the caller sees, and
    per landlord × département × EPCI receiving that landlord's bilan."""
    conventions = _visible_conventions(seed, caller)
    if caller == "prefecture-32":
        conventions = set()  # every seeded convention is in the 31
    assert len(body) == len(conventions) + RECIPIENT_PAIRS.get(caller, 0), body
    received = [row for row in body if row["reserver"]["name"] == "Toulouse Métropole"]
    assert len(received) == RECIPIENT_PAIRS.get(caller, 0), body
    assert all(row["status"] == "missing" for row in body)


def check_balances(seed: Seed, caller: str, body: Any) -> None:
    """Rows (landlord, département, share or landlord part) of the visible scopes only."""
    rows = {
        (
            row["landlord_id"],
            row["departement"],
            "landlord" if row["landlord_part"] else row["share_id"],
        )
        for row in body
    }
    a, b = seed.org[A], seed.org[B]
    shares = {
        key: {(seed.org[CONVENTION_LANDLORD[key]], "31", share) for share in ids}
        for key, ids in seed.shares.items()
    }
    parts = {"A": {(a, "31", "landlord")}, "B": {(b, "31", "landlord"), (b, "32", "landlord")}}
    everything = set().union(*shares.values(), *parts.values())
    expected = {
        "admin": everything,
        "landlord-A": shares["A-X"] | shares["A-Y"] | shares["A-etat"] | parts["A"],
        "landlord-A-ro": shares["A-X"] | shares["A-Y"] | shares["A-etat"] | parts["A"],
        "landlord-B": shares["B-X"] | parts["B"],
        "reserver-X": shares["A-X"] | shares["B-X"],
        "reserver-Y": shares["A-Y"],
        "prefecture-31": {row for row in everything if row[1] == "31"},
        "prefecture-32": {row for row in everything if row[1] == "32"},
    }[caller]
    assert rows == expected


def check_annual_report(seed: Seed, caller: str, body: Any) -> None:
    """The bilan's share rows: (département, convention) of the visible shares, and the landlord
    part of each visible scope (not for reservers); each reserver every reserver's shares of
    its landlords (R.441-5-1, the default setting); with a landlord filter, that landlord's
    only."""
    shares = next(part for part in body["parts"] if part["key"] == "shares")
    rows = {(row["departement"], row["convention"] or row["landlord"]) for row in shares["rows"]}
    a, b = "Office Public de l'Habitat Démo Garonne", "Pastel Habitat Démo (ESH fictive)"
    wanted = {A: (a, "A-"), B: (b, "B-")}.get(body["meta"]["filters"].get("landlord"))
    every = {("31", c) for c in ("A-X", "A-Y", "A-etat", "B-X")} | {
        ("31", a),
        ("31", b),
        ("32", b),
    }
    expected = {
        "admin": every,
        "landlord-A": {("31", c) for c in ("A-X", "A-Y", "A-etat")} | {("31", a)},
        "landlord-A-ro": {("31", c) for c in ("A-X", "A-Y", "A-etat")} | {("31", a)},
        "landlord-B": {("31", "B-X"), ("31", b), ("32", b)},
        "reserver-X": {("31", c) for c in ("A-X", "A-Y", "A-etat", "B-X")},
        "reserver-Y": {("31", c) for c in ("A-X", "A-Y", "A-etat")},
        "prefecture-31": {row for row in every if row[0] == "31"},
        "prefecture-32": {("32", b)},
    }[caller]
    if wanted is not None:
        expected = {row for row in expected if row[1] == wanted[0] or row[1][:2] == wanted[1]}
    assert rows == expected


def check_deduction_forecasts(seed: Seed, caller: str, body: Any) -> None:
    """Seeded forecasts: A in the 31, B in the 31 and the 32; each seen by its landlord, the
    reservers holding a convention with it there, the prefecture of its département."""
    a31, b31, b32 = (seed.org[A], "31"), (seed.org[B], "31"), (seed.org[B], "32")
    expected = {
        "admin": {a31, b31, b32},
        "landlord-A": {a31},
        "landlord-A-ro": {a31},
        "landlord-B": {b31, b32},
        "reserver-X": {a31, b31},
        "reserver-Y": {a31},
        "prefecture-31": {a31, b31},
        "prefecture-32": {b32},
    }[caller]
    assert {(row["landlord_id"], row["departement"]) for row in body} == expected


def check_scopes(seed: Seed, caller: str, body: Any) -> None:
    a, b = (seed.org[A], "31"), (seed.org[B], "31")
    expected = {
        "admin": {a, b},
        "landlord-A": {a},
        "landlord-A-ro": {a},
        "landlord-B": {b},
        "reserver-X": {a, b},  # the scopes where it holds a convention
        "reserver-Y": {a},
        "prefecture-31": {a, b},
        "prefecture-32": set(),
    }[caller]
    assert {(row["landlord_id"], row["departement"]) for row in body} == expected


def check_journal(seed: Seed, caller: str, body: Any) -> None:
    """Entries of the visible vacancies only, and of every one of them (the scope's record of
    its conventions' terms aside: those are the scope's, not a vacancy's)."""
    vacancies = {
        entry["vacancy_id"] or entry["id"] for entry in body if entry["kind"] != "terms_changed"
    }
    assert vacancies == {seed.vacancy[v] for v in _visible_vacancies(seed, caller)}


def check_audit(seed: Seed, caller: str, body: Any) -> None:
    """An admin reads every record; anyone else its own organisation's (the seed wrote as A,
    as B and as the prefecture of the 31; users and organisations were created by the CLI)."""
    organisations = {record["organisation_id"] for record in body}
    if caller == "admin":
        assert organisations == {None, seed.org[A], seed.org[B], seed.org["etat-31"]}
        return
    own = seed.org[CALLERS[caller][1]]
    wrote = caller in ("landlord-A", "landlord-A-ro", "landlord-B", "prefecture-31")
    assert organisations == ({own} if wrote else set())


def check_users(seed: Seed, caller: str, body: Any) -> None:
    expected = set(seed.user.values()) if caller == "admin" else {seed.user[caller]}
    assert set(_ids(body)) == expected


def check_organisations(seed: Seed, caller: str, body: Any) -> None:
    assert set(_ids(body)) == set(seed.org.values())  # a public directory


# --- requests ----------------------------------------------------------------------------------

DWELLING = {"A": "A-spare", "B": "B-spare", "B32": "B-32"}
LANDLORD = {"A": A, "B": B}
DWELLING_RPLS = {"A": "A0000003", "B": "B0000003"}  # the spare dwellings (seeded_world)
VACANCY = {"A": "A-X", "B": "B-X", "B32": "B-32"}
CONVENTION = {"A": "A-X", "B": "B-X", "etat": "A-etat"}
CALLER_OF = {"A": "landlord-A", "B": "landlord-B"}


def _dwelling_body(rpls_id: str, landlord: str) -> dict[str, Any]:
    return {
        "landlord": landlord,
        "rpls_id": rpls_id,
        "commune": "31555",
        "typology": "T2",
        "financing": "PLAI",
        "construction_year": 2001,
    }


def _import(seed: Seed, target: str) -> Request:
    content = "rpls_id;commune;typology;financing;construction_year\nI0000001;31555;T4;PLUS;1975\n"
    return {
        "path": f"{V1}/dwellings/import",
        "query_string": {"landlord": LANDLORD[target]},
        "data": {"file": (io.BytesIO(content.encode()), "logements.csv")},
        "content_type": "multipart/form-data",
    }


def _vacancy_import(seed: Seed, target: str) -> Request:
    content = f"rpls_id;available_on\n{DWELLING_RPLS[target]};2025-04-02\n"
    return {
        "path": f"{V1}/vacancies/import",
        "query_string": {"landlord": LANDLORD[target], "dry_run": "true"},
        "data": {"file": (io.BytesIO(content.encode()), "liberations.csv")},
        "content_type": "multipart/form-data",
    }


def _new_convention(seed: Seed, target: str) -> Request:
    """A: a new convention of A with the Département (not the État's: the prefecture may not);
    B: the État's convention with B (the prefecture of the 31 may); etat32: B's with the
    État of the Gers, in the 31 (no prefecture may write it; whether the domain accepts it
    at all is not this test's business, hence "ok")."""
    if target == "A":
        reserver, shares = "departement-31", [{"code": "cd", "label": "CD", "percent": "10.00"}]
    else:
        reserver = "etat-31" if target == "B" else "etat-32"
        shares = _etat_shares("25.00")
    return _json(
        f"{V1}/conventions",
        {
            "reference": f"NEW-{target}",
            "landlord": LANDLORD.get(target, B),
            "reserver": reserver,
            "departement": "31",
            "valid_from": "2025-06-01",  # after the seeded vacancies: terms are not retroactive
            "perimeter": {"kind": "departement", "code": "31"},
            "shares": shares,
        },
    )


def _etat_shares(prioritaires: str) -> list[dict[str, Any]]:
    return [
        {
            "code": "prioritaires",
            "label": "Prio",
            "percent": prioritaires,
            "purpose": "prioritaires",
        },
        {"code": "agents", "label": "Agents", "percent": "5.00", "purpose": "agents_etat"},
    ]


def _amendment(seed: Seed, target: str) -> Request:
    key = CONVENTION[target]
    if target == "etat":
        shares = _etat_shares("24.00")
    else:
        shares = [{"code": "salaries", "label": "Part salaries", "percent": "35.00"}]
    return _json(
        f"{V1}/conventions/{seed.convention[key]}/amendments",
        {"effective_from": "2025-07-01", "shares": shares},
        **{"If-Match": seed.etag(key)},
    )


def _termination(seed: Seed, target: str) -> Request:
    key = CONVENTION[target]
    return _json(
        f"{V1}/conventions/{seed.convention[key]}/termination",
        {
            "terminated_on": "2025-09-30",
            "reference": "Courrier du 1er juillet",
            "formal_notice_on": "2025-07-01",
        },
        **{"If-Match": seed.etag(key)},
    )


def _relabel(seed: Seed, target: str) -> Request:
    key = CONVENTION[target]
    return _json(
        f"{V1}/conventions/{seed.convention[key]}",
        {"label": "Nouvel intitulé"},
        **{"If-Match": seed.etag(key)},
    )


def _event(seed: Seed, target: str) -> Request:
    """A designation (which the holder's reserver may record, as the landlord may) on the
    vacancies held by X; a withdrawal on the one held by B's own part (nobody designates)."""
    if target == "B32":
        body = {"type": "withdrawal", "date": "2025-03-10", "reason": "Logement vendu"}
    else:
        body = {"type": "designation", "date": "2025-03-10", "candidates": 3}
    return _json(f"{V1}/vacancies/{_vacancy_id(seed, target)}/events", body)


def _item(template: str, lookup: Callable[[Seed, str], Any]) -> Callable[[Seed, str], Request]:
    return lambda seed, target: _get(V1 + template.format(lookup(seed, target)))


def _dwelling_id(seed: Seed, target: str) -> int:
    return seed.dwelling[DWELLING[target]]


def _vacancy_id(seed: Seed, target: str) -> int:
    return seed.vacancy[VACANCY[target]]


def _convention_id(seed: Seed, target: str) -> int:
    return seed.convention[CONVENTION[target]]


def _user_id(seed: Seed, target: str) -> int:
    return seed.user[CALLER_OF[target]]


PUBLIC = "200 200 200 200 200 200 200 200 200"
READ_ALL = "401 200 200 200 200 200 200 200 200"

# Each row: the status for, in order,
#   anonymous admin landlord-A landlord-A-ro landlord-B reserver-X reserver-Y pref-31 pref-32
# Targets: A, B = landlord A's or B's object (B32: B's, in the Gers); "etat" = the État's
# convention with A; "-" = no object.
TABLE: dict[tuple[str, str], Endpoint] = {
    # --- public ------------------------------------------------------------------------------
    ("GET", "/api/v1/health"): Endpoint(lambda s, t: _get(f"{V1}/health"), {"-": PUBLIC}),
    ("GET", "/api/v1/openapi.json"): Endpoint(
        lambda s, t: _get(f"{V1}/openapi.json"), {"-": PUBLIC}
    ),
    ("GET", "/api/v1/docs"): Endpoint(lambda s, t: _get(f"{V1}/docs"), {"-": PUBLIC}),
    ("GET", "/api/v1/docs/assets/<path:filename>"): Endpoint(
        lambda s, t: _get(f"{V1}/docs/assets/swagger-ui.css"), {"-": PUBLIC}
    ),
    ("POST", "/api/v1/auth/login"): Endpoint(
        lambda s, t: _json(
            f"{V1}/auth/login", {"email": s.email["landlord-A"], "password": PASSWORD}
        ),
        {"-": "201 201 201 201 201 201 201 201 201"},
    ),
    # --- territories: reference data, read by every authenticated caller -----------------------
    ("GET", "/api/v1/territories/departements"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/departements"), {"-": READ_ALL}
    ),
    ("GET", "/api/v1/territories/departements/<string:code>"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/departements/{t}"), {"31": READ_ALL, "32": READ_ALL}
    ),
    ("GET", "/api/v1/territories/epcis"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/epcis"), {"-": READ_ALL}
    ),
    ("GET", "/api/v1/territories/epcis/<string:siren>"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/epcis/243100518"), {"-": READ_ALL}
    ),
    ("GET", "/api/v1/territories/communes"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/communes"), {"-": READ_ALL}
    ),
    ("GET", "/api/v1/territories/communes/<string:insee>"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/communes/{t}"),
        {"31555": READ_ALL, "32013": READ_ALL},
    ),
    ("GET", "/api/v1/territories/qpvs"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/qpvs"), {"-": READ_ALL}
    ),
    ("GET", "/api/v1/territories/qpvs/<string:code>"): Endpoint(
        lambda s, t: _get(f"{V1}/territories/qpvs/QP031007"), {"-": READ_ALL}
    ),
    # --- organisations: a public directory; created by admins --------------------------------
    ("GET", "/api/v1/organisations"): Endpoint(
        lambda s, t: _get(f"{V1}/organisations"), {"-": READ_ALL}, check_organisations
    ),
    ("POST", "/api/v1/organisations"): Endpoint(
        lambda s, t: _json(
            f"{V1}/organisations",
            {"code": "nouveau-bailleur", "name": "Nouveau", "kind": "landlord"},
        ),
        {"-": "401 201 403 403 403 403 403 403 403"},
    ),
    ("GET", "/api/v1/organisations/<int:organisation_id>"): Endpoint(
        lambda s, t: _get(f"{V1}/organisations/{s.org[LANDLORD[t]]}"),
        {"A": READ_ALL, "B": READ_ALL},
    ),
    ("PATCH", "/api/v1/organisations/<int:organisation_id>"): Endpoint(
        lambda s, t: _json(f"{V1}/organisations/{s.org[LANDLORD[t]]}", {"name": "Renommé"}),
        {"A": "401 200 403 403 403 403 403 403 403", "B": "401 200 403 403 403 403 403 403 403"},
    ),
    # --- dwellings: a landlord's stock ----------------------------------------------------------
    ("GET", "/api/v1/dwellings"): Endpoint(
        lambda s, t: _get(f"{V1}/dwellings"), {"-": READ_ALL}, check_dwellings
    ),
    ("POST", "/api/v1/dwellings"): Endpoint(
        lambda s, t: _json(f"{V1}/dwellings", _dwelling_body("N0000001", LANDLORD[t])),
        {
            "A": "401 201 201 403 403 403 403 403 403",
            "B": "401 201 403 403 201 403 403 403 403",
        },
    ),
    ("GET", "/api/v1/dwellings/<int:dwelling_id>"): Endpoint(
        _item("/dwellings/{}", _dwelling_id),
        {
            "A": "401 200 200 200 404 404 404 200 404",
            "B": "401 200 404 404 200 404 404 200 404",
            "B32": "401 200 404 404 200 404 404 404 200",
        },
    ),
    ("PATCH", "/api/v1/dwellings/<int:dwelling_id>"): Endpoint(
        lambda s, t: _json(f"{V1}/dwellings/{_dwelling_id(s, t)}", {"typology": "T5"}),
        {
            "A": "401 200 200 403 404 404 404 403 404",
            "B": "401 200 404 404 200 404 404 403 404",
            "B32": "401 200 404 404 200 404 404 404 403",
        },
    ),
    ("DELETE", "/api/v1/dwellings/<int:dwelling_id>"): Endpoint(
        _item("/dwellings/{}", _dwelling_id),
        {
            "A": "401 204 204 403 404 404 404 403 404",
            "B": "401 204 404 404 204 404 404 403 404",
            # in the journal: kept (409) for those who may write it
            "B32": "401 409 404 404 409 404 404 404 403",
        },
    ),
    ("POST", "/api/v1/dwellings/<int:dwelling_id>/transfer"): Endpoint(
        lambda s, t: _json(
            f"{V1}/dwellings/{_dwelling_id(s, t)}/transfer",
            {"landlord": B if t == "A" else A, "on": "2025-06-30"},
        ),
        {
            "A": "401 201 201 403 404 404 404 403 404",
            "B": "401 201 404 404 201 404 404 403 404",
            "B32": "401 201 404 404 201 404 404 404 403",
        },
    ),
    ("POST", "/api/v1/dwellings/import"): Endpoint(
        _import,
        {
            "A": "401 202 202 403 403 403 403 403 403",
            "B": "401 202 403 403 202 403 403 403 403",
        },
    ),
    # --- conventions ----------------------------------------------------------------------------
    ("GET", "/api/v1/conventions"): Endpoint(
        lambda s, t: _get(f"{V1}/conventions"), {"-": READ_ALL}, check_conventions
    ),
    ("POST", "/api/v1/conventions"): Endpoint(
        _new_convention,
        {
            "A": "401 201 201 403 403 403 403 403 403",
            "B": "401 201 403 403 201 403 403 201 403",
            "etat32": "401 ok 403 403 ok 403 403 403 403",
        },
    ),
    ("GET", "/api/v1/conventions/derogations"): Endpoint(
        lambda s, t: _get(f"{V1}/conventions/derogations"), {"-": READ_ALL}
    ),
    ("POST", "/api/v1/conventions/derogations"): Endpoint(
        lambda s, t: _json(
            f"{V1}/conventions/derogations",
            {
                "landlord": s.org[A],
                "departement": "31",
                "arrete_reference": "Arrêté 2025-1",
                "starts_on": "2025-01-01",
                "ends_on": "2025-12-31",
                "etat_cap": "35.00",
                "agents_cap": "5.00",
            },
        ),
        {"-": "401 201 403 403 403 403 403 201 403"},
    ),
    ("GET", "/api/v1/conventions/<int:convention_id>"): Endpoint(
        _item("/conventions/{}", _convention_id),
        {
            "A": "401 200 200 200 404 200 404 200 404",
            "B": "401 200 404 404 200 200 404 200 404",
            "etat": "401 200 200 200 404 404 404 200 404",
        },
    ),
    ("PATCH", "/api/v1/conventions/<int:convention_id>"): Endpoint(
        _relabel,
        {
            "A": "401 200 200 403 404 403 404 403 404",
            "B": "401 200 404 404 200 403 404 403 404",
            "etat": "401 200 200 403 404 404 404 200 404",
        },
    ),
    ("GET", "/api/v1/conventions/<int:convention_id>/amendments"): Endpoint(
        _item("/conventions/{}/amendments", _convention_id),
        {
            "A": "401 200 200 200 404 200 404 200 404",
            "B": "401 200 404 404 200 200 404 200 404",
            "etat": "401 200 200 200 404 404 404 200 404",
        },
    ),
    ("POST", "/api/v1/conventions/<int:convention_id>/amendments"): Endpoint(
        _amendment,
        {
            "A": "401 201 201 403 404 403 404 403 404",
            "B": "401 201 404 404 201 403 404 403 404",
            "etat": "401 201 201 403 404 404 404 201 404",
        },
    ),
    ("POST", "/api/v1/conventions/<int:convention_id>/termination"): Endpoint(
        _termination,
        {
            "A": "401 201 201 403 404 403 404 403 404",
            "B": "401 201 404 404 201 403 404 403 404",
            "etat": "401 201 201 403 404 404 404 201 404",
        },
    ),
    # --- vacancies ------------------------------------------------------------------------------
    ("GET", "/api/v1/vacancies"): Endpoint(
        lambda s, t: _get(f"{V1}/vacancies"), {"-": READ_ALL}, check_vacancies
    ),
    ("POST", "/api/v1/vacancies"): Endpoint(
        lambda s, t: _json(
            f"{V1}/vacancies", {"dwelling": _dwelling_id(s, t), "available_on": "2025-04-01"}
        ),
        {
            "A": "401 201 201 403 404 404 404 403 404",
            "B": "401 201 404 404 201 404 404 403 404",
        },
    ),
    ("POST", "/api/v1/vacancies/import"): Endpoint(
        _vacancy_import,
        {
            "A": "401 202 202 403 403 403 403 403 403",
            "B": "401 202 403 403 202 403 403 403 403",
        },
    ),
    # An unknown job: the owner's and the others' views are tested in test_vacancy_import_api.
    ("GET", "/api/v1/imports/<int:job_id>"): Endpoint(
        lambda s, t: _get(f"{V1}/imports/999999"), {"-": "401 404 404 404 404 404 404 404 404"}
    ),
    ("GET", "/api/v1/vacancies/<int:vacancy_id>"): Endpoint(
        _item("/vacancies/{}", _vacancy_id),
        {
            "A": "401 200 200 200 404 200 404 200 404",
            "B": "401 200 404 404 200 200 404 200 404",
            "B32": "401 200 404 404 200 404 404 404 200",
        },
    ),
    ("GET", "/api/v1/vacancies/<int:vacancy_id>/events"): Endpoint(
        _item("/vacancies/{}/events", _vacancy_id),
        {
            "A": "401 200 200 200 404 200 404 200 404",
            "B": "401 200 404 404 200 200 404 200 404",
            "B32": "401 200 404 404 200 404 404 404 200",
        },
    ),
    ("POST", "/api/v1/vacancies/<int:vacancy_id>/events"): Endpoint(
        _event,
        {
            "A": "401 201 201 403 404 201 404 403 404",
            "B": "401 201 404 404 201 201 404 403 404",
            "B32": "401 201 404 404 201 404 404 404 403",
        },
    ),
    # --- balances and allocation scopes -------------------------------------------------------
    ("GET", "/api/v1/balances"): Endpoint(
        lambda s, t: _get(f"{V1}/balances", as_of="2025-06-30"), {"-": READ_ALL}, check_balances
    ),
    ("GET", "/api/v1/balances/totals"): Endpoint(
        lambda s, t: _get(f"{V1}/balances/totals", as_of="2025-06-30"), {"-": READ_ALL}
    ),
    ("GET", "/api/v1/balances/monthly"): Endpoint(
        lambda s, t: _get(f"{V1}/balances/monthly", year=2025), {"-": READ_ALL}, check_balances
    ),
    # --- the bilan annuel: what the caller sees; a landlord it may not look into is 404 --------
    ("GET", "/api/v1/reports/annual"): Endpoint(
        lambda s, t: (
            _get(f"{V1}/reports/annual", year=2025)
            if t == "-"
            else _get(f"{V1}/reports/annual", year=2025, landlord=LANDLORD[t])
        ),
        {
            "-": READ_ALL,
            "A": "401 200 200 200 404 200 200 200 404",
            "B": "401 200 404 404 200 200 404 200 200",
        },
        check_annual_report,
    ),
    # A bilan prepared in the background: only its requester reads it (none exists here).
    ("GET", "/api/v1/reports/jobs/<int:job_id>"): Endpoint(
        lambda s, t: _get(f"{V1}/reports/jobs/1"), {"-": "401 404 404 404 404 404 404 404 404"}
    ),
    # --- deduction forecasts: declared by the landlord, read by its reservers there -----------
    ("GET", "/api/v1/deduction-forecasts"): Endpoint(
        lambda s, t: _get(f"{V1}/deduction-forecasts"), {"-": READ_ALL}, check_deduction_forecasts
    ),
    ("POST", "/api/v1/deduction-forecasts"): Endpoint(
        lambda s, t: _json(
            f"{V1}/deduction-forecasts",
            {
                "landlord": s.org[LANDLORD["B" if t == "B32" else t]],
                "departement": "32" if t == "B32" else "31",
                "year": 2025,
                "forecasts": {"internal_transfer": 20, "unfit_housing": 1},
            },
        ),
        {
            "A": "401 201 201 403 403 403 403 403 403",
            "B32": "401 201 403 403 201 403 403 403 403",
        },
    ),
    # --- scheduled work: alerts about the caller, job runs for staff, bilans per pair ---------
    ("GET", "/api/v1/alerts"): Endpoint(lambda s, t: _get(f"{V1}/alerts"), {"-": READ_ALL}),
    # --- notifications: each user's own; personal, so a read-only account may mark them read ---
    ("GET", "/api/v1/notifications"): Endpoint(
        lambda s, t: _get(f"{V1}/notifications"), {"-": READ_ALL}
    ),
    ("POST", "/api/v1/notifications/read"): Endpoint(
        lambda s, t: _json(f"{V1}/notifications/read", {}), {"-": READ_ALL}
    ),
    ("POST", "/api/v1/notifications/<int:notification_id>/read"): Endpoint(
        lambda s, t: _json(f"{V1}/notifications/999999/read", {}),
        {"-": "401 404 404 404 404 404 404 404 404"},
    ),
    ("GET", "/api/v1/notifications/preferences"): Endpoint(
        lambda s, t: _get(f"{V1}/notifications/preferences"), {"-": READ_ALL}
    ),
    ("PUT", "/api/v1/notifications/preferences"): Endpoint(
        lambda s, t: _json(f"{V1}/notifications/preferences", {"delivery": "digest"}),
        {"-": READ_ALL},
    ),
    ("GET", "/api/v1/job-runs"): Endpoint(
        lambda s, t: _get(f"{V1}/job-runs"), {"-": "401 200 403 403 403 403 403 403 403"}
    ),
    ("GET", "/api/v1/bilans"): Endpoint(
        lambda s, t: _get(f"{V1}/bilans", year=2025), {"-": READ_ALL}, check_bilans
    ),
    ("GET", "/api/v1/bilans/<int:report_id>"): Endpoint(
        lambda s, t: _get(f"{V1}/bilans/1"), {"-": "401 404 404 404 404 404 404 404 404"}
    ),
    ("GET", "/api/v1/allocation-scopes"): Endpoint(
        lambda s, t: _get(f"{V1}/allocation-scopes"), {"-": READ_ALL}, check_scopes
    ),
    ("PUT", "/api/v1/allocation-scopes/<int:landlord_id>/<string:departement>"): Endpoint(
        lambda s, t: _json(
            f"{V1}/allocation-scopes/{s.org[LANDLORD[t]]}/31", {"rule": "largest_deficit"}
        ),
        {
            "A": "401 200 200 403 404 403 403 403 404",
            "B": "401 200 404 404 200 403 404 403 404",
        },
    ),
    # --- users and tokens -----------------------------------------------------------------------
    ("GET", "/api/v1/users"): Endpoint(
        lambda s, t: _get(f"{V1}/users"), {"-": READ_ALL}, check_users
    ),
    ("POST", "/api/v1/users"): Endpoint(
        lambda s, t: _json(
            f"{V1}/users",
            {"email": "nouveau@acces.test.flux.example", "role": "landlord", "organisation": A},
        ),
        {"-": "401 201 403 403 403 403 403 403 403"},
    ),
    ("GET", "/api/v1/users/<int:user_id>"): Endpoint(
        _item("/users/{}", _user_id),
        {
            "A": "401 200 200 404 404 404 404 404 404",
            "B": "401 200 404 404 200 404 404 404 404",
        },
    ),
    ("GET", "/api/v1/users/<int:user_id>/tokens"): Endpoint(
        _item("/users/{}/tokens", _user_id),
        {
            "A": "401 200 200 404 404 404 404 404 404",
            "B": "401 200 404 404 200 404 404 404 404",
        },
    ),
    ("POST", "/api/v1/users/<int:user_id>/tokens"): Endpoint(
        lambda s, t: _json(f"{V1}/users/{_user_id(s, t)}/tokens", {"label": "script", "days": 30}),
        {
            "A": "401 201 201 404 404 404 404 404 404",
            "B": "401 201 404 404 201 404 404 404 404",
        },
    ),
    ("DELETE", "/api/v1/tokens/<int:token_id>"): Endpoint(
        lambda s, t: _get(f"{V1}/tokens/{s.spare_token[CALLER_OF[t]]}"),
        {
            "A": "401 204 204 404 404 404 404 404 404",
            "B": "401 204 404 404 204 404 404 404 404",
        },
    ),
    ("GET", "/api/v1/me"): Endpoint(lambda s, t: _get(f"{V1}/me"), {"-": READ_ALL}),
    # --- journal and audit ----------------------------------------------------------------------
    ("GET", "/api/v1/journal"): Endpoint(
        lambda s, t: _get(f"{V1}/journal"), {"-": READ_ALL}, check_journal
    ),
    ("GET", "/api/v1/audit"): Endpoint(
        lambda s, t: _get(f"{V1}/audit", page_size=500), {"-": READ_ALL}, check_audit
    ),
}

for _key, _endpoint in TABLE.items():
    for _target, _row in _endpoint.expected.items():
        assert len(_row.split()) == len(CALLER_ORDER), (_key, _target)


# --- the cells, from the URL map -----------------------------------------------------------


@cache
def url_map_endpoints() -> tuple[tuple[str, str], ...]:
    """(method, rule) of every /api/v1 route of the app (HEAD and OPTIONS aside)."""
    app = create_app({"ENV": "test", "DATABASE_URL": "sqlite://", "TESTING": True})
    return tuple(
        sorted(
            (method, rule.rule)
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith(V1)
            for method in rule.methods or ()
            if method not in ("HEAD", "OPTIONS")
        )
    )


@dataclass(frozen=True)
class Cell:
    method: str
    rule: str
    target: str
    caller: str
    expected: str | None  # None: the endpoint has no row in TABLE

    def __str__(self) -> str:
        on = "" if self.target == "-" else f" @{self.target}"
        return f"{self.method} {self.rule}{on} x {self.caller} -> {self.expected or '?'}"


def _cells() -> list[Cell]:
    cells = []
    for method, rule in url_map_endpoints():
        endpoint = TABLE.get((method, rule))
        rows = endpoint.expected if endpoint else {"-": None}
        for target, row in rows.items():
            statuses = row.split() if row else [None] * len(CALLER_ORDER)
            cells.extend(
                Cell(method, rule, target, caller, status)
                for caller, status in zip(CALLER_ORDER, statuses, strict=True)
            )
    return cells


@pytest.fixture(scope="module")
def world(_template, tmp_path_factory):
    built = World(_template, tmp_path_factory.mktemp("access"), ON_POSTGRES)
    yield built
    built.close()


def test_the_table_covers_exactly_the_url_map(world):
    routes = {
        (method, rule.rule)
        for rule in world.app.url_map.iter_rules()
        if rule.rule.startswith(V1)
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }

    assert sorted(routes - TABLE.keys()) == [], "endpoints without a row in TABLE"
    assert sorted(TABLE.keys() - routes) == [], "rows of TABLE for endpoints that do not exist"


@pytest.mark.parametrize("cell", _cells(), ids=str)
def test_access(world, cell: Cell):
    if cell.expected is None:
        pytest.fail(f"{cell.method} {cell.rule} has no row in TABLE: say who may call it.")
    endpoint = TABLE[(cell.method, cell.rule)]
    world.ensure_clean()
    request = endpoint.request(world.seed, cell.target)
    headers = {**request.pop("headers", {}), **world.seed.headers(cell.caller)}

    with world.client().open(method=cell.method, headers=headers, **request) as response:
        status, body = response.status_code, response.get_data(as_text=True)
    if cell.method != "GET":
        world.dirty = True

    if cell.expected == "ok":
        assert str(status) not in DENIALS and status < 500, body
        return
    assert status == int(cell.expected), body
    if cell.expected in DENIALS:
        assert response.mimetype == PROBLEM
        assert response.get_json()["status"] == status
    elif endpoint.check is not None:
        endpoint.check(world.seed, cell.caller, response.get_json())
