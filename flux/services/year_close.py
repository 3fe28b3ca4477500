"""Year close: freeze a scope's year, carry each share's gap into the next (domain.md §6).

Closing year N of a scope (landlord × département) appends, under the scope's lock:
- one ``year_closed`` entry (period N, dated 31/12/N) holding the frozen figures of every share
  and ``through_id``, the last journal id they include;
- one ``carry_over`` entry per share with a non-zero carry (period N+1, dated 1/1/N+1), which the
  allocation fold of N+1 reads as that share's opening balance.

Afterwards, entries dated in N are refused (``reconciliation.ClosedYear``, 409). Entries dated in
N+1 about a vacancy of N (a January take-back of a December vacancy, a late attribution) are
accepted and kept with period N, but the figures of N stop at ``through_id``; such an entry is a
late entry: ``adjust_late`` refigures N with it and appends the difference it makes to the
carry-ins of N+1 (``carry_over`` entries flagged ``late``). Closing twice changes nothing. Whether
a year is closed is read from the journal, like everything else.

Closing N also orients the vacancies of N+1 held for it (``held_vacancies``), after the
carry-over entries, so that their decisions include the carry-in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import allocation, eligibility, reconciliation
from flux.domain.allocation import LANDLORD, ShareRef
from flux.domain.reconciliation import CarryPolicy, ShareClosing
from flux.domain.reference import CountingEvent
from flux.models import Convention, JournalEntry
from flux.services import alerts, allocation_book, held_vacancies, journal, scope_conventions
from flux.services.access import Actor, check_scope_write
from flux.services.allocation_book import Scope, share_ref
from flux.services.journal import Kind


@dataclass(frozen=True)
class Closing:
    scope: Scope
    year: int
    entry_id: int
    through_id: int
    shares: dict[ShareRef, dict[str, Any]]  # the frozen figures, as stored
    created: bool  # False: it was already closed


def closing(session: Session, scope: Scope, year: int) -> Closing | None:
    """The year's closing for the scope, or None while it is open."""
    entry = session.scalar(_closing_query(scope, year))
    return None if entry is None else closing_from(entry)


def closed_years(session: Session, scope: Scope) -> set[int]:
    return set(
        session.scalars(
            sa.select(JournalEntry.period).where(
                JournalEntry.landlord_id == scope.landlord_id,
                JournalEntry.departement_code == scope.departement,
                JournalEntry.kind == Kind.YEAR_CLOSED,
            )
        )
    )


def check_open(session: Session, scope: Scope, on: date) -> None:
    """Refuse an entry of the scope dated in a closed year, or before one (409): the closed
    years of a scope are always its first years, so that every carry lands in an open year."""
    reconciliation.check_open(on, closed_years(session, scope))


def close(
    session: Session,
    actor: Actor,
    scope: Scope,
    year: int,
    today: date | None = None,
    refused: list[alerts.Draft] | None = None,
) -> list[Closing]:
    """Close the scope's year, and first any earlier year of it still open (catch-up).

    Returns the closings of the years asked for, oldest first (``created`` says which were
    closed by this call). The caller commits.
    """
    check_scope_write(actor, scope.landlord_id)
    reconciliation.check_closable(year, today or clock.today())
    allocation_book.lock(session, scope)
    first = allocation_book.first_year(session, scope)
    years = range(min(first, year) if first is not None else year, year + 1)
    closed = closed_years(session, scope)
    last_closed = max(closed, default=None)
    closings = []
    for y in years:
        # Never close a year before the last closed one: nothing can be logged there (it is
        # refused), and its carry would land in a closed year.
        if last_closed is None or y >= last_closed or y in closed:
            closings.append(_close_one(session, actor, scope, y))
            # After the carry-over: the next year's vacancies held for this close.
            held_vacancies.orient_held(session, actor, scope, y + 1, today, refused)
    return closings


def close_all(
    session: Session,
    actor: Actor,
    year: int,
    today: date | None = None,
    landlord: int | None = None,
    departement: str | None = None,
    refused: list[alerts.Draft] | None = None,
) -> list[Closing]:
    """Close `year` (and earlier open years) for every scope, or the scopes the filters name;
    held vacancies the rules cannot orient are listed in `refused` (alerts to raise)."""
    reconciliation.check_closable(year, today or clock.today())  # even with no scope to close
    closings = []
    for scope in scopes(session, landlord, departement):
        closings += close(session, actor, scope, year, today, refused)
    return closings


def scopes(session: Session, landlord: int | None, departement: str | None) -> list[Scope]:
    """Scopes with a convention or a journal entry, optionally one landlord's or département's."""
    pairs = sa.union(
        sa.select(Convention.landlord_id, Convention.departement_code),
        sa.select(JournalEntry.landlord_id, JournalEntry.departement_code).where(
            JournalEntry.landlord_id.is_not(None)
        ),
    )
    found = sorted(tuple(row) for row in session.execute(pairs))
    return [
        Scope(landlord_id, code)
        for landlord_id, code in found
        if (landlord is None or landlord_id == landlord)
        and (departement is None or code == departement)
    ]


def adjust_late(
    session: Session, actor: Actor, scope: Scope, year: int, cause: JournalEntry
) -> int:
    """After a late entry about a vacancy of the closed `year`: add to the carry-ins of the
    first open year after it the difference the entry makes. Returns the number of
    adjustments appended.

    When the years in between are closed too, the difference goes to the first open one: a
    carry-in moved by δ moves that year's gap by −δ, hence its own carry by δ, year after
    year (for a share that carries over; the landlord part absorbs the rest, Σ stays 0).
    """
    recomputed = _refigure(session, scope, year, through=None)
    carried = _carried(session, scope, year)
    deltas = reconciliation.carry_adjustments(recomputed, carried)
    if not deltas:
        return 0
    closed = closed_years(session, scope)
    into = year + 1
    while into in closed:
        into += 1
    for share, units in sorted(deltas.items(), key=lambda item: allocation.order_key(item[0])):
        _append_carry(
            session,
            actor,
            scope,
            year,
            share,
            units,
            cause.effective_date,
            late_cause=cause.id,
            into=into,
        )
    return len(deltas)


# --- inside ----------------------------------------------------------------------------------


def _close_one(session: Session, actor: Actor, scope: Scope, year: int) -> Closing:
    existing = session.scalar(_closing_query(scope, year))
    if existing is not None:
        return closing_from(existing)
    through = session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(JournalEntry.id), 0)).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period == year,
        )
    )
    figures = _refigure(session, scope, year, through=int(through))
    entry = journal.append(
        session,
        actor,
        Kind.YEAR_CLOSED,
        date(year, 12, 31),
        landlord_id=scope.landlord_id,
        departement_code=scope.departement,
        period=year,
        payload={
            "through_id": int(through),
            "shares": [_stored(closing_) for closing_ in figures.values()],
        },
    )
    for share, closing_ in figures.items():
        if closing_.carry_units:
            _append_carry(session, actor, scope, year, share, closing_.carry_units, None)
    return closing_from(entry, created=True)


def _refigure(
    session: Session, scope: Scope, year: int, through: int | None
) -> dict[ShareRef, ShareClosing]:
    book = allocation_book.frozen(session, scope, year, through)
    balances = allocation.balances(book.state)
    attributed, leased = counted_events(session, scope, year, through)
    policies = carry_policies(session, scope, year, [s for s in balances if s != LANDLORD])
    return reconciliation.close(balances, policies, attributed, leased)


def counted_events(
    session: Session, scope: Scope, year: int, through: int | None = None
) -> tuple[Counter, Counter]:
    """Per share: the vacancies of the year with a live CAL attribution, and with a live lease,
    counted for the share that held the vacancy then (withdrawn vacancies excluded)."""
    reversed_ids = (
        sa.select(JournalEntry.reverses_id)
        .where(
            JournalEntry.kind == Kind.CORRECTION,
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period == year,
        )
        .where(JournalEntry.id <= through if through is not None else sa.true())
    )
    withdrawn = sa.select(JournalEntry.vacancy_id).where(
        JournalEntry.kind == Kind.WITHDRAWAL,
        JournalEntry.landlord_id == scope.landlord_id,
        JournalEntry.departement_code == scope.departement,
        JournalEntry.period == year,
        JournalEntry.id <= through if through is not None else sa.true(),
    )
    stmt = sa.select(JournalEntry.kind, JournalEntry.vacancy_id, JournalEntry.share_id).where(
        JournalEntry.landlord_id == scope.landlord_id,
        JournalEntry.departement_code == scope.departement,
        JournalEntry.period == year,
        JournalEntry.kind.in_([Kind.CAL_ATTRIBUTION, Kind.LEASE]),
        JournalEntry.id.not_in(reversed_ids),
        JournalEntry.vacancy_id.not_in(withdrawn),
    )
    if through is not None:
        stmt = stmt.where(JournalEntry.id <= through)
    seen: dict[str, set[int]] = {Kind.CAL_ATTRIBUTION: set(), Kind.LEASE: set()}
    attributed: Counter = Counter()
    leased: Counter = Counter()
    for kind, vacancy_id, share_id in session.execute(stmt.order_by(JournalEntry.id)):
        if vacancy_id in seen[kind]:
            continue  # a second attribution after a correction counts once
        seen[kind].add(vacancy_id)
        (attributed if kind == Kind.CAL_ATTRIBUTION else leased)[share_ref(share_id)] += 1
    return attributed, leased


def carry_policies(
    session: Session, scope: Scope, year: int, shares: list[ShareRef]
) -> dict[int, CarryPolicy]:
    """Each share's carry-over policy at the end of the year (the report's provisional
    carry-out uses the same)."""
    conventions = scope_conventions.load(session, scope.landlord_id, scope.departement)
    year_end, next_start = date(year, 12, 31), date(year + 1, 1, 1)
    policies = {}
    for share in shares:
        share_id = int(share)
        if share_id not in conventions.convention_of_share:
            policies[share_id] = CarryPolicy()
            continue
        version = conventions.version_for_share(share_id, year_end)
        continues = eligibility.share_in_force(conventions.views, share_id, next_start)
        policies[share_id] = CarryPolicy(
            version.carry_over, continues, CountingEvent(version.counting_event)
        )
    return policies


def _carried(session: Session, scope: Scope, year: int) -> dict[ShareRef, int]:
    rows = session.execute(
        sa.select(JournalEntry.share_id, JournalEntry.payload).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period > year,
            JournalEntry.kind == Kind.CARRY_OVER,
        )
    )
    carried: dict[ShareRef, int] = {}
    for share_id, payload in rows:
        if payload.get("from_year") == year:
            share = share_ref(share_id)
            carried[share] = carried.get(share, 0) + int(payload["units"])
    return carried


def _append_carry(
    session: Session,
    actor: Actor,
    scope: Scope,
    year: int,
    share: ShareRef,
    units: int,
    on: date | None,
    late_cause: int | None = None,
    into: int | None = None,
) -> None:
    journal.append(
        session,
        actor,
        Kind.CARRY_OVER,
        on or date(year + 1, 1, 1),
        landlord_id=scope.landlord_id,
        departement_code=scope.departement,
        period=into or year + 1,
        share_id=None if share == LANDLORD else int(share),
        payload={
            "units": units,
            "from_year": year,
            "late": late_cause is not None,
            "cause_id": late_cause,
        },
    )


def _stored(closing_: ShareClosing) -> dict[str, Any]:
    return {
        "share": closing_.share,
        "eligible": closing_.eligible,
        "target_units": closing_.target_units,
        "carry_in_units": closing_.carry_in_units,
        "realised": closing_.realised,
        "counted": closing_.counted,
        "counting_event": str(closing_.counting_event),
        "gap_units": closing_.gap_units,
        "carry_units": closing_.carry_units,
        "reason": closing_.reason,
    }


def _closing_query(scope: Scope, year: int) -> sa.Select[Any]:
    return sa.select(JournalEntry).where(
        JournalEntry.landlord_id == scope.landlord_id,
        JournalEntry.departement_code == scope.departement,
        JournalEntry.period == year,
        JournalEntry.kind == Kind.YEAR_CLOSED,
    )


def closing_from(entry: JournalEntry, created: bool = False) -> Closing:
    """The closing a `year_closed` journal entry records."""
    scope = Scope(entry.landlord_id, entry.departement_code)  # type: ignore[arg-type]
    shares = {share_ref(row["share"]): row for row in entry.payload["shares"]}
    return Closing(
        scope, int(entry.period), entry.id, int(entry.payload["through_id"]), shares, created
    )  # type: ignore[arg-type]
