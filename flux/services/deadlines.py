"""Designation deadlines that time lets pass (domain.md §5, issue 6's `deadlines` job).

A vacancy oriented to a reserver's share whose designation deadline passed without designation
gets its carence; one whose candidates the CALEOL refused gets its take-back once the second
delay has passed. Each entry is dated the first day it was due (the day after the deadline),
or, when that day falls in a year already closed, the first day of the open year (a late
entry: see year_close). Whether it still counts for the reserver is its convention's policy,
recorded by vacancy_events as for an entry typed by the landlord.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain import lifecycle
from flux.models import JournalEntry
from flux.services import allocation_book, vacancies, vacancy_events
from flux.services.access import SYSTEM, Actor
from flux.services.allocation_book import Scope
from flux.services.journal import Kind

_CLOSING_KINDS = (Kind.LEASE, Kind.WITHDRAWAL)


@dataclass(frozen=True)
class Expired:
    vacancy_id: int
    event: str
    on: date
    entry_id: int


def expire(session: Session, today: date, actor: Actor = SYSTEM) -> list[Expired]:
    """Record every carence and take-back due by `today`; the caller commits."""
    done = []
    for vacancy_id, entries in _open_vacancies(session).items():
        state = vacancies.replay(session, vacancy_id, entries)
        due = lifecycle.overdue(state.lifecycle, today)
        if due is None:
            continue
        event, on = due
        scope = Scope(state.logged.landlord_id, state.logged.departement_code)
        if allocation_book.closed_through(session, scope, on.year) is not None:
            on = max(date(today.year, 1, 1), on)
        data = {"type": str(event), "date": on}
        entry_id = vacancy_events.record(session, actor, vacancy_id, data, today=today)
        done.append(Expired(vacancy_id, str(event), on, entry_id))
    return done


def _open_vacancies(session: Session) -> dict[int, list[JournalEntry]]:
    """The entries of every vacancy oriented to a reserver's share at some point and neither
    leased nor withdrawn (a correction may have reversed a lease: replay decides)."""
    reserved = sa.select(JournalEntry.vacancy_id).where(
        JournalEntry.kind.in_([Kind.ORIENTATION, Kind.OVERRIDE]),
        JournalEntry.share_id.is_not(None),
    )
    closed = sa.select(JournalEntry.vacancy_id).where(JournalEntry.kind.in_(_CLOSING_KINDS))
    corrected = sa.select(JournalEntry.vacancy_id).where(JournalEntry.kind == Kind.CORRECTION)
    candidates = sa.select(JournalEntry.id).where(
        JournalEntry.kind == Kind.VACANCY_LOGGED,
        JournalEntry.id.in_(reserved),
        sa.or_(JournalEntry.id.not_in(closed), JournalEntry.id.in_(corrected)),
    )
    rows = session.scalars(
        sa.select(JournalEntry)
        .where(sa.or_(JournalEntry.id.in_(candidates), JournalEntry.vacancy_id.in_(candidates)))
        .order_by(JournalEntry.id)
    )
    grouped: dict[int, list[JournalEntry]] = defaultdict(list)
    for entry in rows:
        grouped[entry.vacancy_id or entry.id].append(entry)
    return dict(sorted(grouped.items()))
