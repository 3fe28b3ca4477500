"""The allocation state of a scope and year, folded from the journal.

The journal is the only record: a scope's counters (targets, realised, sub-targets) are a fold
of its entries. Folding is incremental: a process keeps each scope's last fold (``ScopeCache``)
and, under the scope lock, folds only the entries appended since. The scope row's marks say
whether anything changed without counting anything: its ``version`` (moved by a trigger on
every journal insert) and its ``generation`` (moved by migrations and after a restore); the
last entry folded is read back with the new ones, so that a restore which reused ids is seen
too (issue 15). Anything the marks cannot explain refolds from scratch.

A fold read by a transaction may include that transaction's own, uncommitted entries, so it is
checked out of the process cache while the transaction runs and published back only when the
transaction commits; a rollback drops it. Otherwise a rolled-back vacancy would stay in the
cache, and on SQLite, which reuses the ids of rolled-back rows, the next vacancy could take the
id of an entry the cache still holds.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, object_session

from flux.db import begin_immediate, read_together
from flux.domain import allocation
from flux.domain.allocation import LANDLORD, AllocationState, EligibleShare, Rule, ShareRef
from flux.domain.allocation_model import lines_payload
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
    # Late amendments' changes to this vacancy's weights (share -> units) and sub-targets
    # ((share, key) -> units), undone on withdrawal.
    adjusted: dict[ShareRef, int] = field(default_factory=dict)
    sub_adjusted: dict[tuple[ShareRef, str], int] = field(default_factory=dict)


@dataclass
class Book:
    """A scope's allocation state for one year, and each of its vacancies' current holder."""

    state: AllocationState
    vacancies: dict[int, BookVacancy] = field(default_factory=dict)
    count: int = 0
    last_id: int = 0
    latest: date = date.min  # the latest effective date folded (a read "as of" needs it)


def share_ref(value: Any) -> ShareRef:
    return LANDLORD if value in (None, LANDLORD) else int(value)


def eligible_to_payload(shares: Iterable[EligibleShare]) -> list[list[Any]]:
    return [[share.share_id, share.basis_points, list(share.sub_keys)] for share in shares]


def explanation_to_payload(lines: Iterable[allocation.ExplanationLine]) -> list[dict[str, Any]]:
    """A decision's explanation as recorded with the orientation (and compared on refold); a
    decision writes it itself, from its figures: ``Decision.explanation_payload``."""
    return lines_payload(lines)


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
        day = row.effective_date  # None from readers that do not carry it (the report's)
        if day is not None and day > book.latest:
            book.latest = day
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
        # Its sub-targets (the État's per commune), in entries written since they are kept.
        sub_adjusted = held.sub_adjusted if held is not None else {}
        for share, key, units in payload.get("sub_units", ()):
            pair = (share_ref(share), key)
            state.sub_targets[pair] = state.sub_targets.get(pair, 0) + int(units)
            sub_adjusted[pair] = sub_adjusted.get(pair, 0) + int(units)
        return
    if kind == Kind.VACANCY_LOGGED:
        # A bulk import hands the engine's vacancy along with the row it has just built.
        vacancy = getattr(row, "vacancy", None) or vacancy_from_payload(row.id, payload)
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
        for pair, units in entry.sub_adjusted.items():
            state.sub_targets[pair] = state.sub_targets.get(pair, 0) - units
        entry.adjusted, entry.sub_adjusted = {}, {}


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


@dataclass
class ScopeCache:
    """What a process keeps of a scope between transactions: its books and the marks that say
    whether the database still holds what they were folded from.

    ``version`` and ``generation`` are the scope row's marks (see ``AllocationScope``) as of
    the last fold; ``last_id`` and ``anchor`` (its ``recorded_at``) identify the last entry
    folded. A catch-up reads the scope's entries from ``last_id`` on and folds them only if the
    first is still that very entry and the others are exactly the version's increase: after a
    restore that reused ids, the entry at ``last_id`` is another one (or none) and everything
    is refolded. The marks never depend on a COUNT over the year.
    """

    rule: Rule
    generation: str
    version: int
    last_id: int = 0
    anchor: Any = None
    closed: dict[int, int] = field(default_factory=dict)  # closed year -> its through id
    books: dict[int, Book] = field(default_factory=dict)  # open years folded so far
    first_vacancy: int | None = None  # the year of the scope's earliest vacancy (None: none)

    def absorb(self, row: Any) -> None:
        """Fold one new entry of the scope (any kind, any year) into what is kept."""
        self.version += 1
        self.last_id, self.anchor = row.id, row.recorded_at
        if row.kind == Kind.YEAR_CLOSED:
            self.closed[row.period] = int(row.payload["through_id"])
        elif row.kind == Kind.VACANCY_LOGGED and row.period is not None:
            earliest = self.first_vacancy
            self.first_vacancy = row.period if earliest is None else min(earliest, row.period)
        book = self.books.get(row.period)
        if book is not None and row.kind in _ALLOCATION_KIND_NAMES:
            fold(book, (row,))


_ALLOCATION_KIND_NAMES = frozenset(str(k) for k in _ALLOCATION_KINDS)
_cache: dict[tuple[str, Scope], ScopeCache] = {}
_cache_lock = threading.Lock()
_CHECKED_OUT = "flux_allocation_scopes"  # session.info: the scopes this transaction folded
_MARKS = "flux_allocation_marks"  # session.info: each locked scope's (rule, version, generation)
# session.info: per scope, the entries read with its lock (from the cache's last one on), for the
# catch-up: (that last id, the rows); good while the marks are (no entry appended since).
_SINCE_LOCK = "flux_allocation_since_lock"
_JOURNAL = JournalEntry.__table__
_SCOPES = SCOPES_TABLE = AllocationScope.__table__
_IN_SCOPE = sa.and_(
    _JOURNAL.c.landlord_id == sa.bindparam("landlord"),
    _JOURNAL.c.departement_code == sa.bindparam("departement"),
)
_SCOPE_ROW = sa.and_(
    _SCOPES.c.landlord_id == sa.bindparam("landlord"),
    _SCOPES.c.departement_code == sa.bindparam("departement"),
)
# The decision path's reads, built once and run in plain Core (bound parameters): building
# and running them through the ORM cost more than the rule itself.
_ROW_COLUMNS = tuple(
    _JOURNAL.c[name]
    for name in (
        "id",
        "kind",
        "vacancy_id",
        "share_id",
        "payload",
        "effective_date",
        "period",
        "recorded_at",
    )
)
_SINCE = (
    sa.select(*_ROW_COLUMNS)
    .where(_IN_SCOPE, _JOURNAL.c.id >= sa.bindparam("after"))
    .order_by(_JOURNAL.c.id)
)
_MARKS_OF = sa.select(_SCOPES.c.version, _SCOPES.c.generation).where(_SCOPE_ROW)
_LOCK = sa.select(_SCOPES.c.rule, _SCOPES.c.version, _SCOPES.c.generation).where(_SCOPE_ROW)
_LOCK_FOR_UPDATE = _LOCK.with_for_update()


def _params(scope: Scope, **more: Any) -> dict[str, Any]:
    return {"landlord": scope.landlord_id, "departement": scope.departement, **more}


def load(session: Session, scope: Scope, year: int, rule: Rule) -> Book:
    """The scope's book for a year, up to date with the journal (call under the scope lock).

    The book is this transaction's until it ends: published to the cache on commit, dropped on
    rollback (see the module's docstring).
    """
    cached = scope_cache(session, scope, rule)
    book = cached.books.get(year)
    if book is None:
        book = Book(AllocationState(rule=rule))
        fold(book, _rows(session, scope, year, through=cached.last_id))
        cached.books[year] = book
    return book


def cached_state(
    session: Session, scope: Scope, year: int, as_of: date | None = None
) -> AllocationState | None:
    """For reads (balances of an open year as of now): a copy of the state a process holds for
    the scope and year, if the database still gives exactly that state (and, with ``as_of``,
    if it holds no entry dated after that day); else None (fold it, ``as_of``).

    Takes no lock and leaves the cache in place: one statement reads the scope's marks and the
    last entry folded; the copy is of the counters only (shares and sub-targets, not the
    vacancies). A decision committed just after is simply not in this read, as with any read.
    """
    key = (_database(session.get_bind()), scope)
    with _cache_lock:
        cached = _cache.get(key)
        book = cached.books.get(year) if cached is not None else None
        if book is None or (as_of is not None and book.latest > as_of):
            return None
        version, generation, last_id, anchor = (
            cached.version,
            cached.generation,
            cached.last_id,
            cached.anchor,
        )
        state = book.state.copy()
    row = session.execute(
        sa.select(AllocationScope.version, AllocationScope.generation, JournalEntry.recorded_at)
        .select_from(AllocationScope)
        .outerjoin(JournalEntry, JournalEntry.id == last_id)
        .where(
            AllocationScope.landlord_id == scope.landlord_id,
            AllocationScope.departement_code == scope.departement,
        )
    ).one_or_none()
    if row is None or (row.version, row.generation, row.recorded_at) != (
        version,
        generation,
        anchor,
    ):
        return None
    return state


def closed_years(session: Session, scope: Scope, rule: Rule) -> set[int]:
    """The scope's closed years, from the cached state (call under the scope lock)."""
    return set(scope_cache(session, scope, rule).closed)


def first_vacancy_year(session: Session, scope: Scope, rule: Rule) -> int | None:
    """The year of the scope's earliest vacancy, from the cached state (under the lock)."""
    return scope_cache(session, scope, rule).first_vacancy


@functools.lru_cache(maxsize=64)
def _database(bind: Any) -> str:
    """The cache's name for a database (rendering an URL costs more than a decision)."""
    return str(bind.url)


def scope_cache(session: Session, scope: Scope, rule: Rule) -> ScopeCache:
    """The scope's cached state, checked against the database's marks (under the scope lock).

    Costs one statement (the last entry folded, and those appended since) the first time in a
    transaction, and a refold when the marks say the database changed under the cache.
    """
    key = (_database(session.get_bind()), scope)
    checked_out = session.info.setdefault(_CHECKED_OUT, {})
    cached = checked_out.get(key)
    verified = cached is not None  # already checked in this transaction
    if cached is None:
        with _cache_lock:
            cached = _cache.pop(key, None)
    version, generation = _marks(session, scope)
    if cached is not None and (cached.generation != generation or cached.rule is not rule):
        cached = None
    # Read even when the versions agree: after a restore and new writes that reused its ids,
    # the version can be back where the cache left it, but the entry at ``last_id`` is another.
    if (
        cached is not None
        and not (verified and cached.version == version)
        and not _catch_up(session, scope, cached, version)
    ):
        cached = None
    if cached is None:
        cached = _fresh(session, scope, rule, version, generation)
    checked_out[key] = cached
    return cached


def _marks(session: Session, scope: Scope) -> tuple[int, str]:
    marks = session.info.get(_MARKS, {}).get(scope)
    if marks is None:  # not locked in this transaction, or an entry was appended since
        row = session.connection().execute(_MARKS_OF, _params(scope)).one_or_none()
        return (int(row.version), row.generation) if row is not None else (0, "")
    return marks


def _catch_up(session: Session, scope: Scope, cached: ScopeCache, version: int) -> bool:
    """Fold the entries appended since the cache's last one; False if they do not add up."""
    read = session.info.get(_SINCE_LOCK, {}).pop(scope, None)
    if read is not None and read[0] == cached.last_id and locked_marks(session, scope):
        rows = read[1]  # read with the lock, and nothing appended since
    else:
        rows = session.connection().execute(_SINCE, _params(scope, after=cached.last_id)).all()
    if cached.last_id:
        if not rows or rows[0].id != cached.last_id or rows[0].recorded_at != cached.anchor:
            return False  # the last entry folded is gone or is another one: a restore
        rows = rows[1:]
    if len(rows) != version - cached.version:
        return False  # entries the increments cannot explain (inserted out of order, lost)
    for row in rows:
        cached.absorb(row)
    return True


def _fresh(session: Session, scope: Scope, rule: Rule, version: int, generation: str) -> ScopeCache:
    cached = ScopeCache(rule, generation, version)
    last = session.execute(
        sa.select(JournalEntry.id, JournalEntry.recorded_at)
        .where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
        )
        .order_by(JournalEntry.id.desc())
        .limit(1)
    ).one_or_none()
    if last is not None:
        cached.last_id, cached.anchor = last.id, last.recorded_at
    for period, payload in session.execute(
        sa.select(JournalEntry.period, JournalEntry.payload).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.kind == Kind.YEAR_CLOSED,
        )
    ):
        cached.closed[period] = int(payload["through_id"])
    cached.first_vacancy = first_year(session, scope)
    return cached


def first_year(session: Session, scope: Scope) -> int | None:
    """The scope's first year with a vacancy (None: none yet), read from the journal; under
    the lock, ``first_vacancy_year`` gives it from the cached state."""
    found = session.scalar(
        sa.select(sa.func.min(JournalEntry.period)).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.kind == Kind.VACANCY_LOGGED,
        )
    )
    return None if found is None else int(found)


def record(session: Session, scope: Scope, entries: Iterable[JournalEntry]) -> None:
    """Fold entries this transaction has just appended (flushed, under the scope lock), so the
    next decision neither reads them back nor refolds: the trigger counted them in the
    version, the cache counts them the same way."""
    session.info.get(_SINCE_LOCK, {}).pop(scope, None)  # read before these entries
    key = (_database(session.get_bind()), scope)
    cached = session.info.get(_CHECKED_OUT, {}).get(key)
    if cached is None:
        return
    for entry in entries:
        cached.absorb(entry)
    session.info.setdefault(_MARKS, {})[scope] = (cached.version, cached.generation)


@event.listens_for(JournalEntry, "after_insert")
def _forget_marks(_mapper: Any, _connection: Any, target: JournalEntry) -> None:
    # The trigger has moved the scope's version: the marks read under the lock are stale.
    session = object_session(target)
    if session is not None and target.landlord_id is not None:
        session.info.get(_MARKS, {}).pop(Scope(target.landlord_id, target.departement_code), None)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    session.info.pop(_MARKS, None)
    session.info.pop(_SINCE_LOCK, None)
    books = session.info.pop(_CHECKED_OUT, None)
    if books:
        with _cache_lock:
            _cache.update(books)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, _previous: SessionTransaction) -> None:
    # A savepoint's rollback too: the books may hold entries it undid.
    session.info.pop(_CHECKED_OUT, None)
    session.info.pop(_MARKS, None)
    session.info.pop(_SINCE_LOCK, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_unpublished(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # ended without a commit (closed): nothing to publish
        session.info.pop(_CHECKED_OUT, None)
        session.info.pop(_MARKS, None)
        session.info.pop(_SINCE_LOCK, None)


def as_of(session: Session, scope: Scope, year: int, day: date) -> Book:
    """The scope's book with only the entries dated on or before `day` (never cached).

    A closed year stops at its close: entries recorded after it (late ones) move the next
    year's carry-in, never the closed year's figures.
    """
    book = Book(AllocationState())
    fold(book, _rows(session, scope, year, as_of=day, through=closed_through(session, scope, year)))
    return book


def stale_decisions(session: Session, scope: Scope, year: int) -> list[int]:
    """The vacancies whose recorded orientation was not decided on the state the journal gives.

    The year is refolded in id order and each orientation's proposal made again on the state
    just before it: its explanation (every participant's target, realised and deficit, the
    figures the rule ranked) is the digest of the state the deciding worker held. A worker
    that decided on a cache the database no longer had (after a restore, say) recorded other
    figures, which this finds (the nightly check reports them).
    """
    book, stale = Book(AllocationState()), []
    for row in _rows(session, scope, year):
        if row.kind == Kind.ORIENTATION and row.vacancy_id in book.vacancies:
            payload = row.payload
            book.state.rule = Rule(payload.get("rule", Rule.LARGEST_DEFICIT.value))
            vacancy = book.vacancies[row.vacancy_id].vacancy
            try:
                decision = allocation.propose(book.state, vacancy)
            except allocation.AllocationError:
                decision = None
            if (
                decision is None
                or share_ref(payload["proposed"]) != decision.chosen
                or payload.get("explanation") != decision.explanation_payload()
            ):
                stale.append(row.vacancy_id)
        fold(book, (row,))
    return stale


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


def locked_marks(session: Session, scope: Scope) -> tuple[int, str] | None:
    """The scope's (version, generation) as ``lock`` read them (None once an entry has been
    appended since): a caller that read the scope before the lock compares them."""
    return session.info.get(_MARKS, {}).get(scope)


def lock(session: Session, scope: Scope) -> Rule:
    """Serialise the scope's decisions until the transaction ends; returns the scope's rule.

    The same statement reads the scope's cache marks (version, generation), kept for
    ``scope_cache`` until an entry is appended.
    """
    begin_immediate(session)
    connection = session.connection()
    dialect = connection.dialect.name
    stmt = _LOCK_FOR_UPDATE if dialect == "postgresql" else _LOCK
    since = session.info.setdefault(_SINCE_LOCK, {})
    since.pop(scope, None)
    after = _cached_last_id(session, scope) if dialect == "postgresql" else None
    if after is None:
        row = connection.execute(stmt, _params(scope)).one_or_none()
    else:  # the catch-up's read sent with the lock: one round trip for both
        locked, rows = read_together(
            connection, [(stmt, _params(scope)), (_SINCE, _params(scope, after=after))]
        )
        row = locked[0] if locked else None
        since[scope] = (after, rows)
    if row is None:  # the scope's first write: create its row, then lock it
        since.pop(scope, None)
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AllocationScope)
        values = {"landlord_id": scope.landlord_id, "departement_code": scope.departement}
        session.execute(
            insert.values(**values, generation=secrets.token_hex(16)).on_conflict_do_nothing()
        )
        row = connection.execute(stmt, _params(scope)).one()
    session.info.setdefault(_MARKS, {})[scope] = (int(row.version), row.generation)
    return Rule(row.rule)


def _cached_last_id(session: Session, scope: Scope) -> int | None:
    """The last entry the scope's cached state folded, if a state is cached (not checked out
    by another transaction): where the catch-up after the lock will read from."""
    key = (_database(session.get_bind()), scope)
    cached = session.info.get(_CHECKED_OUT, {}).get(key)
    if cached is None:
        with _cache_lock:
            cached = _cache.get(key)
    return None if cached is None else cached.last_id


# A fresh random generation for every scope, in one statement (as migration 0006 does).
NEW_GENERATION_SQL = {
    "postgresql": (
        "UPDATE allocation_scopes SET generation = md5(random()::text || clock_timestamp())"
    ),
    "sqlite": "UPDATE allocation_scopes SET generation = lower(hex(randomblob(16)))",
}


def new_generation(session: Session) -> int:
    """Move every scope's generation (after a restore, a migration or a hand edit of the
    journal): every process's cached folds are then dropped unread at their next use. Returns
    the number of scopes."""
    dialect = session.get_bind().dialect.name
    return session.execute(sa.text(NEW_GENERATION_SQL[dialect])).rowcount


def clear_cache() -> None:
    """Forget every fold (a restored or truncated database must not be read through them)."""
    with _cache_lock:
        _cache.clear()
