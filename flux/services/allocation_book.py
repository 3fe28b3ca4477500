"""The allocation state of a scope and year, folded from the journal.

The journal is the only record: a scope's counters (targets, realised, sub-targets) are a fold
of its entries. Folding is incremental: a process keeps each scope's last fold and, under the
scope lock, folds only the entries appended since. A cheap check (count and max id of the
scope's entries) detects anything else and refolds from scratch.

A fold read by a transaction may include that transaction's own, uncommitted entries, so it is
checked out of the process cache while the transaction runs and published back only when the
transaction commits; a rollback drops it. Otherwise a rolled-back vacancy would stay in the
cache, and on SQLite, which reuses the ids of rolled-back rows, the count-and-max-id check
would not notice when the next vacancy took its id.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from flux.db import begin_immediate
from flux.domain import allocation
from flux.domain.allocation import LANDLORD, AllocationState, EligibleShare, Rule, ShareRef
from flux.models import AllocationScope, JournalEntry
from flux.services.journal import Kind

_ALLOCATION_KINDS = (
    Kind.VACANCY_LOGGED,
    Kind.ORIENTATION,
    Kind.OVERRIDE,
    Kind.CARENCE,
    Kind.TAKE_BACK,
    Kind.WITHDRAWAL,
    Kind.CARRY_OVER,
    Kind.TARGET_ADJUSTMENT,
)


@dataclass(frozen=True)
class Scope:
    landlord_id: int
    departement: str


@dataclass
class BookVacancy:
    vacancy: allocation.Vacancy
    available_on: date
    holder: ShareRef | None = None  # None: deducted, withdrawn, or not yet oriented
    # Late amendments' changes to this vacancy's weights (share -> units), undone on withdrawal.
    adjusted: dict[ShareRef, int] = field(default_factory=dict)


@dataclass
class Book:
    """A scope's allocation state for one year, and each of its vacancies' current holder."""

    state: AllocationState
    vacancies: dict[int, BookVacancy] = field(default_factory=dict)
    count: int = 0
    last_id: int = 0


def share_ref(value: Any) -> ShareRef:
    return LANDLORD if value in (None, LANDLORD) else int(value)


def eligible_to_payload(shares: Iterable[EligibleShare]) -> list[list[Any]]:
    return [[share.share_id, share.basis_points, list(share.sub_keys)] for share in shares]


def vacancy_from_payload(vacancy_id: int, payload: dict[str, Any]) -> allocation.Vacancy:
    shares = tuple(_eligible(s, bp, tuple(keys)) for s, bp, keys in payload["eligible"])
    return allocation.Vacancy(vacancy_id, shares, payload.get("deduction"))


@functools.lru_cache(maxsize=65_536, typed=True)
def _eligible(share_id: int, basis_points: int, sub_keys: tuple[str, ...]) -> EligibleShare:
    """One (frozen) EligibleShare per distinct triple: a year's fold builds one per vacancy and
    share, and validating each again was most of the fold's time (the annual report's)."""
    return EligibleShare(share_id, basis_points, sub_keys)


def fold(book: Book, rows: Iterable[Any]) -> None:
    """Apply journal rows (in id order) to a book."""
    for row in rows:
        book.count += 1
        book.last_id = max(book.last_id, row.id)
        _fold_one(book, row)


def _fold_one(book: Book, row: Any) -> None:
    kind, payload, state = row.kind, row.payload or {}, book.state
    if kind == Kind.CARRY_OVER:
        # Additive: the close's carry, then any adjustment a late entry made (year_close).
        share = share_ref(row.share_id)
        state.carry_in[share] = state.carry_in.get(share, 0) + int(payload["units"])
        return
    if kind == Kind.TARGET_ADJUSTMENT:
        # A late amendment: the targets of the vacancies already oriented, at the new terms.
        held = book.vacancies.get(row.vacancy_id)
        adjusted = held.adjusted if held is not None else {}
        for share, units in payload["units"].items():
            ref = share_ref(share)
            state.targets[ref] = state.targets.get(ref, 0) + int(units)
            adjusted[ref] = adjusted.get(ref, 0) + int(units)
        return
    if kind == Kind.VACANCY_LOGGED:
        vacancy = vacancy_from_payload(row.id, payload)
        book.vacancies[row.id] = BookVacancy(vacancy, row.effective_date)
        return
    entry = book.vacancies.get(row.vacancy_id)
    if entry is None:
        return
    if kind == Kind.ORIENTATION:
        entry.holder = share_ref(payload["chosen"])
        allocation.apply(state, entry.vacancy, entry.holder)
    elif kind == Kind.OVERRIDE:
        target = share_ref(payload["to"])
        allocation.reorient(state, entry.vacancy, entry.holder, target)
        entry.holder = target
    elif kind in (Kind.CARENCE, Kind.TAKE_BACK) and not payload.get("counted", True):
        if entry.holder != LANDLORD:
            allocation.reorient(state, entry.vacancy, entry.holder, LANDLORD)
            entry.holder = LANDLORD
    elif kind == Kind.WITHDRAWAL and entry.holder is not None:
        allocation.withdraw(state, entry.vacancy, entry.holder)
        entry.holder = None
        for ref, units in entry.adjusted.items():
            state.targets[ref] = state.targets.get(ref, 0) - units
        entry.adjusted = {}


def _rows(
    session: Session,
    scope: Scope,
    year: int,
    *,
    after: int = 0,
    as_of: date | None = None,
    through: int | None = None,
) -> list[Any]:
    stmt = (
        sa.select(
            JournalEntry.id,
            JournalEntry.kind,
            JournalEntry.vacancy_id,
            JournalEntry.share_id,
            JournalEntry.payload,
            JournalEntry.effective_date,
        )
        .where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period == year,
            JournalEntry.kind.in_([str(k) for k in _ALLOCATION_KINDS]),
            JournalEntry.id > after,
        )
        .order_by(JournalEntry.id)
    )
    if as_of is not None:
        stmt = stmt.where(JournalEntry.effective_date <= as_of)
    if through is not None:
        stmt = stmt.where(JournalEntry.id <= through)
    return list(session.execute(stmt))


def _fingerprint(session: Session, scope: Scope, year: int) -> tuple[int, int]:
    count, last = session.execute(
        sa.select(
            sa.func.count(JournalEntry.id), sa.func.coalesce(sa.func.max(JournalEntry.id), 0)
        ).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period == year,
            JournalEntry.kind.in_([str(k) for k in _ALLOCATION_KINDS]),
        )
    ).one()
    return int(count), int(last)


_cache: dict[tuple[str, Scope, int], Book] = {}
_cache_lock = threading.Lock()
_CHECKED_OUT = "flux_allocation_books"  # session.info: the books this transaction folded


def load(session: Session, scope: Scope, year: int, rule: Rule) -> Book:
    """The scope's book for a year, up to date with the journal (call under the scope lock).

    The book is this transaction's until it ends: published to the cache on commit, dropped on
    rollback (see the module's docstring).
    """
    key = (str(session.get_bind().url), scope, year)
    count, last = _fingerprint(session, scope, year)
    checked_out = session.info.setdefault(_CHECKED_OUT, {})
    book = checked_out.get(key)
    if book is None:
        with _cache_lock:
            book = _cache.pop(key, None)
    if book is None or book.state.rule is not rule or last < book.last_id:
        book = Book(AllocationState(rule=rule))
    new_rows = _rows(session, scope, year, after=book.last_id)
    if book.count + len(new_rows) != count:  # something the increments cannot explain
        book, new_rows = Book(AllocationState(rule=rule)), _rows(session, scope, year)
    fold(book, new_rows)
    checked_out[key] = book
    return book


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    books = session.info.pop(_CHECKED_OUT, None)
    if books:
        with _cache_lock:
            _cache.update(books)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, _previous: SessionTransaction) -> None:
    # A savepoint's rollback too: the books may hold entries it undid.
    session.info.pop(_CHECKED_OUT, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_unpublished(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # ended without a commit (closed): nothing to publish
        session.info.pop(_CHECKED_OUT, None)


def as_of(session: Session, scope: Scope, year: int, day: date) -> Book:
    """The scope's book with only the entries dated on or before `day` (never cached).

    A closed year stops at its close: entries recorded after it (late ones) move the next
    year's carry-in, never the closed year's figures.
    """
    book = Book(AllocationState())
    fold(book, _rows(session, scope, year, as_of=day, through=closed_through(session, scope, year)))
    return book


def frozen(session: Session, scope: Scope, year: int, through: int | None = None) -> Book:
    """The scope's whole year, up to the journal entry `through` when given (never cached)."""
    book = Book(AllocationState())
    fold(book, _rows(session, scope, year, through=through))
    return book


def closed_through(session: Session, scope: Scope, year: int) -> int | None:
    """The last journal id a closed year's figures include; None while the year is open."""
    payload = session.scalar(
        sa.select(JournalEntry.payload).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period == year,
            JournalEntry.kind == Kind.YEAR_CLOSED,
        )
    )
    return None if payload is None else int(payload["through_id"])


def lock(session: Session, scope: Scope) -> Rule:
    """Serialise the scope's decisions until the transaction ends; returns the scope's rule."""
    begin_immediate(session)
    values = {"landlord_id": scope.landlord_id, "departement_code": scope.departement}
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AllocationScope)
    session.execute(insert.values(**values).on_conflict_do_nothing())
    stmt = sa.select(AllocationScope.rule).where(
        AllocationScope.landlord_id == scope.landlord_id,
        AllocationScope.departement_code == scope.departement,
    )
    if dialect == "postgresql":
        stmt = stmt.with_for_update()
    return Rule(session.scalar(stmt))


def clear_cache() -> None:
    """Forget every fold (a restored or truncated database must not be read through them)."""
    with _cache_lock:
        _cache.clear()
