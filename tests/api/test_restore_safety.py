"""A worker's cached fold never outlives the database it was folded from (issue 15, item 2).

The scenario of the reliability probe: a database is restored under a running service, another
worker logs new vacancies that reuse the restored ids (so the scope's entry count and last id
are back to what the first worker's cache says), then the first worker decides. It must see
that the entry it folded last is not the one the database now holds, and refold.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from flux.db import create_engine
from flux.domain import allocation
from flux.domain.reference import Role
from flux.models import Alert, AllocationScope, JournalEntry
from flux.scheduler import jobs
from flux.services import allocation_book, journal
from flux.services.access import Actor
from flux.services.allocation_book import Scope, explanation_to_payload
from flux.services.journal import Kind

from .vacancy_kit import LANDLORD, OPH, TOULOUSE, action_logement, create_dwelling, holder, logged


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def world(client, oph) -> dict:
    """Action Logement at 50 % and seven dwellings; d1..d4 logged (AL, landlord, AL, landlord)."""
    al = action_logement(client, oph, "50.00")
    dwellings = [create_dwelling(client, oph, f"R{n:07d}", TOULOUSE) for n in range(1, 8)]
    holders = [
        holder(logged(client, oph, d, f"2026-01-0{i + 1}")) for i, d in enumerate(dwellings[:2])
    ]
    assert holders == [al, LANDLORD]
    return {"al": al, "dwellings": dwellings}


def _scope_marks(connection) -> tuple[int, int]:
    return (
        connection.scalar(sa.select(sa.func.max(JournalEntry.id))),
        connection.scalar(sa.select(AllocationScope.version)),
    )


def _restore(database_url: str, through_id: int, version: int) -> None:
    """Put the journal and the scope row back as a backup taken at `through_id` holds them
    (what pg_restore or copying back a SQLite file does), ids to be reused afterwards."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET session_replication_role = replica")  # restore-like
            connection.execute(sa.delete(JournalEntry).where(JournalEntry.id > through_id))
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), {through_id})"
            )
        else:
            connection.exec_driver_sql("DROP TRIGGER journal_append_only_delete")
            connection.execute(sa.delete(JournalEntry).where(JournalEntry.id > through_id))
        connection.execute(sa.update(AllocationScope).values(version=version))
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TRIGGER journal_append_only_delete BEFORE DELETE ON journal_entries "
                "BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only (DELETE refused)'); END"
            )
    engine.dispose()


def _stale_worker_after_restore(client, oph, world, database_url) -> dict:
    """Worker A folds d1..d4; the database is restored to d1..d2; worker B logs d5, d6 to the
    landlord (overrides), reusing d3, d4's ids; returns worker A's cache."""
    d = world["dwellings"]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        backup = _scope_marks(connection)
    logged(client, oph, d[2], "2026-01-03")
    logged(client, oph, d[3], "2026-01-04")
    with engine.connect() as connection:
        before_restore = _scope_marks(connection)
    worker_a = dict(allocation_book._cache)  # noqa: SLF001 - a second process's memory
    _restore(database_url, *backup)
    allocation_book.clear_cache()  # worker B starts cold
    for dwelling, day in ((d[4], "2026-01-05"), (d[5], "2026-01-06")):
        vacancy = logged(client, oph, dwelling, day, orient_to=LANDLORD, reason="reprise")
        assert holder(vacancy) == LANDLORD
    with engine.connect() as connection:
        # The count/max-id check of old cannot see it: same last id, same number of entries.
        assert _scope_marks(connection) == before_restore
    engine.dispose()
    allocation_book.clear_cache()
    allocation_book._cache.update(worker_a)  # noqa: SLF001 - worker A decides next
    return worker_a


def test_a_worker_does_not_decide_on_a_fold_the_restored_database_no_longer_has(
    client, oph, world, database_url
):
    _stale_worker_after_restore(client, oph, world, database_url)
    # The journal now holds: d1 AL, d2 landlord, d5 landlord, d6 landlord. Worker A's memory
    # says AL 2, landlord 2; the truth is AL 1, landlord 3.
    decided = logged(client, oph, world["dwellings"][6], "2026-01-07")
    lines = {line["share"]: line for line in decided["orientation"]["explanation"]}
    assert (lines[world["al"]]["realised"], lines[LANDLORD]["realised"]) == (1, 3)
    assert holder(decided) == world["al"]


def test_a_new_generation_drops_every_cached_fold_unread(client, oph, world, session):
    scope = Scope(session.scalar(sa.select(AllocationScope.landlord_id)), "31")
    rule = allocation_book.lock(session, scope)
    before = allocation_book.scope_cache(session, scope, rule)
    session.commit()
    assert allocation_book.new_generation(session) == 1
    session.commit()
    rule = allocation_book.lock(session, scope)
    after = allocation_book.scope_cache(session, scope, rule)
    assert after is not before and after.generation != before.generation
    session.rollback()


def test_an_out_of_band_insert_moves_the_scope_version(client, oph, world, database_url, session):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        landlord, version = connection.execute(
            sa.select(AllocationScope.landlord_id, AllocationScope.version)
        ).one()
    with engine.begin() as connection:  # a hand-written INSERT, not through the service
        connection.execute(
            sa.insert(JournalEntry).values(
                kind="carry_over",
                effective_date=date(2026, 1, 1),
                recorded_at=sa.func.current_timestamp(),
                landlord_id=landlord,
                departement_code="31",
                period=2026,
                share_id=world["al"],
                payload={"units": 30_000},
            )
        )
    with engine.connect() as connection:
        assert connection.scalar(sa.select(AllocationScope.version)) == version + 1
    engine.dispose()
    # The running worker folds it: Action Logement now carries 3 dwellings in.
    decided = logged(client, oph, world["dwellings"][2], "2026-01-03")
    lines = {line["share"]: line for line in decided["orientation"]["explanation"]}
    assert lines[world["al"]]["carry_in"] == 30_000


def test_the_nightly_check_finds_a_decision_made_on_a_stale_fold(
    client, oph, world, database_url, session
):
    worker_a = _stale_worker_after_restore(client, oph, world, database_url)
    # What worker A would have recorded before this change: a decision on its stale fold.
    (stale,) = worker_a.values()
    scope = Scope(session.scalar(sa.select(AllocationScope.landlord_id)), "31")
    vacancy_entry = session.scalars(
        sa.select(JournalEntry)
        .where(JournalEntry.kind == Kind.VACANCY_LOGGED)
        .order_by(JournalEntry.id)
    ).first()
    vacancy = allocation_book.vacancy_from_payload(None, vacancy_entry.payload)
    decision = allocation.propose(stale.books[2026].state, vacancy)
    actor = Actor(user_id=None, role=Role.LANDLORD, organisation_id=scope.landlord_id)
    logged_entry = journal.append(
        session,
        actor,
        Kind.VACANCY_LOGGED,
        date(2026, 1, 7),
        landlord_id=scope.landlord_id,
        departement_code="31",
        dwelling_id=world["dwellings"][6],
        period=2026,
        payload=dict(vacancy_entry.payload),
    )
    journal.append(
        session,
        actor,
        Kind.ORIENTATION,
        date(2026, 1, 7),
        landlord_id=scope.landlord_id,
        departement_code="31",
        dwelling_id=world["dwellings"][6],
        vacancy_id=logged_entry.id,
        period=2026,
        share_id=decision.chosen if decision.chosen != LANDLORD else None,
        payload={
            "chosen": decision.chosen,
            "proposed": decision.chosen,
            "override": False,
            "rule": decision.rule_name,
            "rule_version": decision.rule_version,
            "explanation": explanation_to_payload(decision.lines),
        },
    )
    session.commit()
    assert allocation_book.stale_decisions(session, scope, 2026) == [logged_entry.id]
    outcome = jobs.run(session, "nightly-check", date(2026, 7, 1))
    session.commit()
    assert outcome.summary["new_alerts"] >= 1
    messages = session.scalars(sa.select(Alert.message).where(Alert.kind == "invariant")).all()
    assert any("état que le journal ne donne pas" in m for m in messages), messages


def test_flux_db_new_generation_moves_every_scope(client, oph, world, database_url, monkeypatch):
    from click.testing import CliRunner

    from flux.cli import main

    engine = create_engine(database_url)
    with engine.connect() as connection:
        before = connection.scalar(sa.select(AllocationScope.generation))
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["db", "new-generation"], catch_exceptions=False)
    assert result.exit_code == 0 and "1 périmètre" in result.output
    with engine.connect() as connection:
        assert connection.scalar(sa.select(AllocationScope.generation)) != before
    engine.dispose()


def test_reads_get_the_cached_state_only_while_the_database_still_gives_it(
    client, oph, world, database_url, session
):
    scope = Scope(session.scalar(sa.select(AllocationScope.landlord_id)), "31")
    state = allocation_book.cached_state(session, scope, 2026)
    assert allocation.balances(state) == allocation.balances(
        allocation_book.frozen(session, scope, 2026).state
    )
    # Not as of a day before the latest entry (d2 is dated 2 January).
    assert allocation_book.cached_state(session, scope, 2026, date(2026, 1, 1)) is None
    assert allocation_book.cached_state(session, scope, 2026, date(2026, 1, 2)) is not None
    session.rollback()
    _stale_worker_after_restore(client, oph, world, database_url)  # worker A's cache is back
    assert allocation_book.cached_state(session, scope, 2026) is None
    session.rollback()


def test_running_the_migrations_moves_the_generation(client, oph, world, database_url):
    from flux.migrate import upgrade

    engine = create_engine(database_url)
    with engine.connect() as connection:
        before = connection.scalar(sa.select(AllocationScope.generation))
    upgrade(database_url)
    with engine.connect() as connection:
        assert connection.scalar(sa.select(AllocationScope.generation)) != before
    engine.dispose()
