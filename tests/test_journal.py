"""The journal is append-only: the ORM and the database both refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from flux.models import JournalEntry
from flux.models.journal import JournalIsAppendOnly


@pytest.fixture
def entry(session) -> int:
    row = JournalEntry(kind="test", effective_date=date(2025, 3, 1), payload={"n": 1})
    session.add(row)
    session.commit()
    return row.id


def test_orm_refuses_to_update_an_entry(session, entry):
    row = session.get(JournalEntry, entry)
    row.kind = "changed"
    with pytest.raises(JournalIsAppendOnly):
        session.flush()
    session.rollback()


def test_orm_refuses_to_delete_an_entry(session, entry):
    session.delete(session.get(JournalEntry, entry))
    with pytest.raises(JournalIsAppendOnly):
        session.flush()
    session.rollback()


def test_orm_refuses_bulk_update_and_delete(session, entry):
    with pytest.raises(JournalIsAppendOnly):
        session.execute(sa.update(JournalEntry).values(kind="x"))
    with pytest.raises(JournalIsAppendOnly):
        session.execute(sa.delete(JournalEntry))
    session.rollback()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE journal_entries SET kind = 'changed'", "DELETE FROM journal_entries"],
)
def test_database_refuses_raw_update_and_delete(session, entry, statement):
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(sa.text(statement))
    session.rollback()
    assert session.get(JournalEntry, entry).kind == "test"


def test_entries_can_be_appended_and_read_back(session, entry):
    session.add(JournalEntry(kind="correction", effective_date=date(2025, 3, 2), reverses_id=entry))
    session.commit()
    kinds = session.scalars(sa.select(JournalEntry.kind).order_by(JournalEntry.id)).all()
    assert kinds == ["test", "correction"]
