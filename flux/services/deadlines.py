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
from flux.domain.errors import DomainError
from flux.models import JournalEntry
from flux.services import allocation_book, vacancies, vacancy_events, year_close
from flux.services.access import SYSTEM, Actor
from flux.services.alerts import Draft
from flux.services.allocation_book import Scope
from flux.services.errors import ServiceError
from flux.services.journal import Kind

_CLOSING_KINDS = (Kind.LEASE, Kind.WITHDRAWAL)


@dataclass(frozen=True)
class Expired:
    vacancy_id: int
    event: str
    on: date
    entry_id: int


def expire(
    session: Session, today: date, actor: Actor = SYSTEM, refused: list[Draft] | None = None
) -> list[Expired]:
    """Record every carence and take-back due by `today`; the caller commits.

    Each vacancy is recorded in a savepoint: one the rules refuse (its year closed in a way
    no date can fix, say) is rolled back alone and reported in `refused` as an alert draft,
    and the others still get their entries.
    """
    done = []
    for vacancy_id, entries in _open_vacancies(session).items():
        state = vacancies.replay(session, vacancy_id, entries)
        due = lifecycle.overdue(state.lifecycle, today)
        if due is None:
            continue
        event, on = due
        scope = Scope(state.logged.landlord_id, state.logged.departement_code)
        # The lock first (before the savepoint: SQLite's write lock), then the closed years:
        # read before it, a year closed meanwhile by another process (the year-close job
        # running beside this one) would date the entry in that closed year and be refused.
        allocation_book.lock(session, scope)
        last_closed = max(year_close.closed_years(session, scope), default=None)
        if last_closed is not None and on.year <= last_closed:
            on = max(date(last_closed + 1, 1, 1), on)  # a late entry, in the open year
        data = {"type": str(event), "date": on}
        try:
            with session.begin_nested():
                entry_id = vacancy_events.record(session, actor, vacancy_id, data, today=today)
        except (ServiceError, DomainError) as error:
            if refused is not None:
                refused.append(_refusal(state, scope, event, error))
            continue
        done.append(Expired(vacancy_id, str(event), on, entry_id))
    return done


def _refusal(
    state: vacancies.Replayed, scope: Scope, event: lifecycle.Event, error: Exception
) -> Draft:
    detail = getattr(error, "detail", None) or getattr(error, "message", None) or str(error)
    return Draft(
        key=f"deadline_refused:{state.logged.id}:{event}",
        kind="deadline_refused",
        message=(
            f"Délai échu sur la libération n° {state.logged.id} : "
            f"{lifecycle.EVENT_LABELS[event]} n'a pas pu être enregistré(e) ({detail})."
        ),
        landlord_id=scope.landlord_id,
        departement=scope.departement,
        figures={"vacancy": state.logged.id, "event": str(event)},
    )


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
