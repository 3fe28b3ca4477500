"""The decision path's cost and its reads before the scope lock (issue 14 item 2).

POST /vacancies reads the dwelling, the scope's marks, the conventions' fingerprint and the
dwelling's vacancies in one statement before the lock; under the lock they stand only if the
scope's marks have not moved. These tests count the statements, check that the conventions are
not rebuilt at every decision, and make another request win the race between the two.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa

from flux.db import db, read_together
from flux.domain.reference import Role, Typology
from flux.models import Dwelling, JournalEntry
from flux.services import allocation_book, scope_conventions, vacancies
from flux.services.access import Actor

from ..conftest import ON_POSTGRES
from .conftest import share
from .vacancy_kit import OPH, action_logement, create_convention, create_dwelling, log, toulouse


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def homes(client, oph) -> list[int]:
    action_logement(client, oph)
    toulouse(client, oph)
    return [create_dwelling(client, oph, f"P{n:07d}") for n in range(1, 13)]


@contextmanager
def _statements(app):
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        # Transaction control (SQLite's BEGIN goes through the cursor) and the token's check
        # (cached a few seconds in production, not in tests) are not the decision's.
        if not statement.startswith("BEGIN") and "api_tokens" not in statement:
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _logged(client, headers, home: int, on: str) -> dict:
    response = log(client, headers, home, on)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_decision_costs_the_same_few_statements_however_long_the_year(app, client, oph, homes):
    for n, home in enumerate(homes[:2]):  # the caches (token, conventions, scope) warm up
        _logged(client, oph, home, f"2025-03-{n + 1:02d}")
    costs = []
    for n, home in enumerate(homes[2:]):
        with _statements(app) as seen:
            _logged(client, oph, home, f"2025-04-{n + 1:02d}")
        costs.append(seen)
    # Before the lock: the dwelling with the scope's marks, fingerprint and history. Under it:
    # the lock, the catch-up, the two entries, the réservataire's notification (if any).
    assert max(len(seen) for seen in costs) <= 6, "\n".join(s[:70] for s in costs[-1])
    assert len(costs[-1]) <= len(costs[0])


def test_the_conventions_are_read_once_then_only_their_fingerprint(
    app, client, oph, homes, monkeypatch
):
    _logged(client, oph, homes[0], "2025-03-01")
    rebuilt = []
    original = scope_conventions.load_uncached

    def counting(*args, **kwargs):
        rebuilt.append(args[1:])
        return original(*args, **kwargs)

    monkeypatch.setattr(scope_conventions, "load_uncached", counting)
    for n, home in enumerate(homes[1:4]):
        _logged(client, oph, home, f"2025-03-{n + 2:02d}")
    assert rebuilt == []
    # New terms change the fingerprint: the next decision rebuilds them, once.
    create_convention(client, oph, "DEPT", "departement-31", [share("dept", "5.00")])
    rebuilt.clear()  # the convention's own checks read the terms
    body = _logged(client, oph, homes[4], "2025-03-10")
    assert len(rebuilt) == 1
    assert "Part dept" in {line.get("label") for line in body["orientation"]["explanation"]}


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="SQLite: a write request holds the database's write lock from its first statement",
)
def test_a_vacancy_logged_between_the_read_and_the_lock_is_seen_under_the_lock(
    app, client, oph, homes, monkeypatch
):
    """Another request logs the same dwelling on the same day while this one is between its
    first statement and the scope lock: this one must answer with that vacancy (a replay),
    not log a second one, and read the scope again under the lock."""
    _logged(client, oph, homes[0], "2025-03-01")
    lock, raced, reread = allocation_book.lock, [], []

    def racing_lock(session, scope):
        if not raced:
            raced.append(True)
            with app.app_context():
                other = sa.orm.Session(db.engine)
                actor = Actor(None, Role.LANDLORD, scope.landlord_id)
                first = vacancies.log_vacancy(
                    other,
                    actor,
                    vacancies.NewVacancy(available_on=date(2025, 3, 2), dwelling_id=homes[1]),
                )
                other.commit()
                other.close()
                raced.append(first.vacancy_id)
        return lock(session, scope)

    original_load = scope_conventions.load

    def counting_load(*args, **kwargs):
        reread.append(args[1:])
        return original_load(*args, **kwargs)

    monkeypatch.setattr(allocation_book, "lock", racing_lock)
    monkeypatch.setattr(scope_conventions, "load", counting_load)
    response = log(client, oph, homes[1], "2025-03-02")
    assert response.status_code == 200, response.get_json()  # the other request's vacancy
    assert response.get_json()["id"] == raced[1]
    assert reread, "the scope moved: its conventions must be read again under the lock"
    listed = client.get("/api/v1/vacancies", query_string={"page_size": 50}, headers=oph)
    assert [v["dwelling_id"] for v in listed.get_json()].count(homes[1]) == 1


def test_a_dwelling_named_by_its_rpls_id_and_landlord_code_or_id(client, oph, auth, homes, org_ids):
    # The first read's shapes: by id, by RPLS id for a landlord, and for an admin naming the
    # landlord by code or by id; the wrong landlord finds nothing (404, the field named).
    admin, esh = auth("admin"), auth("landlord", "esh-demo-pastel")
    by_code = client.post(
        "/api/v1/vacancies",
        json={"rpls_id": "P0000001", "landlord": OPH, "available_on": "2025-03-01"},
        headers=admin,
    )
    assert by_code.status_code == 201, by_code.get_json()
    assert by_code.get_json()["dwelling_id"] == homes[0]
    by_id = client.post(
        "/api/v1/vacancies",
        json={"rpls_id": "P0000002", "landlord": org_ids[OPH], "available_on": "2025-03-01"},
        headers=admin,
    )
    assert by_id.status_code == 201 and by_id.get_json()["dwelling_id"] == homes[1]
    own = client.post(
        "/api/v1/vacancies", json={"rpls_id": "P0000003", "available_on": "2025-03-01"}, headers=oph
    )
    assert own.status_code == 201 and own.get_json()["dwelling_id"] == homes[2]
    for body, headers in (
        ({"rpls_id": "P0000004", "landlord": "esh-demo-pastel"}, admin),
        ({"rpls_id": "P0000004"}, esh),
    ):
        refused = client.post(
            "/api/v1/vacancies", json={**body, "available_on": "2025-03-01"}, headers=headers
        )
        assert refused.status_code == 404, refused.get_json()
        assert "rpls_id" in refused.get_json()["errors"]["json"]


def test_the_first_reads_fingerprint_is_the_one_the_conventions_are_kept_under(
    client, oph, homes, session, org_ids
):
    # The decision trusts the fingerprint its first statement read (correlated to the
    # dwelling's scope) against the one the conventions were cached under (read alone): the
    # two must be the same figures, or every decision rebuilds the conventions.
    _logged(client, oph, homes[0], "2025-03-01")
    actor = Actor(None, Role.LANDLORD, org_ids[OPH])
    row = vacancies._dwelling_for_write(
        session, actor, vacancies.NewVacancy(available_on=date(2025, 3, 2), dwelling_id=homes[1])
    )
    alone = session.connection().execute(
        scope_conventions._fingerprint_statement(),
        {"landlord": row.landlord_id, "departement": row.departement_code},
    )
    assert tuple(vacancies._fingerprint_of(row)) == tuple(alone.one())
    session.rollback()


def test_what_another_process_appended_is_read_with_the_lock_and_folded(
    app, client, oph, homes, monkeypatch
):
    """This process's cached state is two entries behind (another worker logged a vacancy):
    the decision folds them from the rows read with the lock (in the same round trip on
    PostgreSQL), without a refold, and decides on the state that includes them."""
    for n, home in enumerate(homes[:2]):
        _logged(client, oph, home, f"2025-03-{n + 1:02d}")
    behind = copy.deepcopy(dict(allocation_book._cache))
    other_worker = _logged(client, oph, homes[2], "2025-03-03")
    allocation_book._cache.clear()
    allocation_book._cache.update(behind)  # as if that vacancy had been logged elsewhere

    refolds, reads = [], []
    fresh = allocation_book._fresh
    monkeypatch.setattr(
        allocation_book, "_fresh", lambda *a, **k: refolds.append(a[1]) or fresh(*a, **k)
    )
    with app.app_context():
        engine = db.engine

    def seen(_conn, _cursor, statement, _params, context, _many) -> None:
        if "FROM journal_entries" in statement and "id >=" in statement:
            reads.append(context is None)  # None: sent by read_together, with the lock

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        body = _logged(client, oph, homes[3], "2025-03-04")
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert refolds == []  # the two entries were folded, not the scope read again
    assert reads == [ON_POSTGRES]  # one catch-up read; with the lock on PostgreSQL
    # The state kept is the database's: every entry folded, the other worker's included.
    (kept,) = allocation_book._cache.values()
    with app.app_context():
        version, last = db.session.execute(
            sa.text("SELECT version, (SELECT max(id) FROM journal_entries) FROM allocation_scopes")
        ).one()
    assert (kept.version, kept.last_id) == (version, last)
    assert body["id"] > other_worker["id"]


def test_reads_sent_together_give_the_rows_a_statement_gives(app, client, oph, homes):
    """db.read_together (the lock and the catch-up in one round trip) returns what SQLAlchemy
    would: the values the statement holds itself bound, enumerations converted, JSON parsed,
    dates and instants as dates and aware instants."""
    _logged(client, oph, homes[0], "2025-03-01")
    dwellings, journal = Dwelling.__table__, JournalEntry.__table__
    statements = [
        (sa.select(dwellings).where(dwellings.c.rpls_id == "P0000001"), {}),
        (
            sa.select(journal)
            .where(journal.c.dwelling_id == sa.bindparam("home"), journal.c.period == 2025)
            .order_by(journal.c.id),
            {"home": homes[0]},
        ),
    ]
    with app.app_context():
        connection = db.session.connection()
        together = read_together(connection, statements)
        one_by_one = [connection.execute(s, p).all() for s, p in statements]
        db.session.rollback()
    assert [[tuple(row) for row in rows] for rows in together] == [
        [tuple(row) for row in rows] for rows in one_by_one
    ]
    assert len(together[0]) == 1 and len(together[1]) == 2  # the vacancy, its orientation
    assert isinstance(together[0][0].typology, Typology)
    assert isinstance(together[1][1].payload, dict)


@pytest.mark.skipif(not ON_POSTGRES, reason="the pipeline is PostgreSQL's (psycopg)")
def test_an_error_in_reads_sent_together_is_sqlalchemys(app):
    """A failing statement sent with others surfaces as SQLAlchemy's DBAPIError (what the
    error handlers map to problems), naming the statements sent; the session rolls back and
    goes on."""
    fails = sa.select(sa.cast(sa.literal("not a number"), sa.Integer))
    with app.app_context():
        connection = db.session.connection()
        with pytest.raises(sa.exc.DBAPIError) as raised:
            read_together(connection, [(sa.select(sa.literal(1)), {}), (fails, {})])
        assert "CAST" in str(raised.value.statement)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.literal(2))) == 2
