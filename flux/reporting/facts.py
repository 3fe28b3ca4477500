"""The facts of one scope's year (a landlord in a département), read from the journal once.

One query loads the year's entries (period N) of the scope, selecting only the columns the
report reads, and one pass over them follows each vacancy: what it was proposed to, taken back,
attributed and leased, its holder, and the dwelling as it was when it became free (the snapshot
in its ``vacancy_logged`` entry, never the dwellings table). Reversed entries (``correction``)
are ignored; withdrawn vacancies left the base and count nowhere.

The per-share balances (eligible, target, carry-in, realised) are the allocation engine's: for an
open year the same rows are folded by ``allocation_book.fold``, as ``/balances`` does; a closed
year's are those its close froze (``year_closed``: the same fold, up to its ``through_id``). A
closed year is read up to its ``through_id``: entries recorded after the close (late entries)
are kept apart and never move its figures.
"""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain import allocation, reconciliation
from flux.domain.allocation import LANDLORD, AllocationState, Balance, ShareRef
from flux.models import JournalEntry
from flux.services import allocation_book, year_close
from flux.services.allocation_book import Book, Scope, share_ref
from flux.services.journal import Kind


@dataclass(slots=True)
class VacancyFacts:
    """One vacancy of the year, as the bilan counts it."""

    id: int
    commune: str | None
    qpv: bool
    typology: str | None
    financing: str | None
    construction_year: int | None
    deduction: str | None
    eligible: list[list[Any]]  # [share id, basis points, sub-target keys] (shared, read-only)
    holder: ShareRef | None = None  # None: deducted, withdrawn, or not oriented
    withdrawn: bool = False
    proposed: list[ShareRef] = field(default_factory=list)  # distinct, in order
    overrides: list[tuple[ShareRef, ShareRef]] = field(default_factory=list)  # (lost, received)
    taken_back: list[tuple[ShareRef, bool]] = field(default_factory=list)  # (share, counted)
    attributed: ShareRef | None = None  # the holder when its live attribution was recorded
    household: dict[str, bool] | None = None  # of the live attribution (the last one)
    attributed_after_take_back: bool = False
    leased: ShareRef | None = None  # the holder when its live lease was recorded
    # A late amendment's change to its weights (share -> basis-point units): its targets at
    # the new terms are ``eligible``'s plus these (``target_adjustment`` entries).
    adjusted: dict[ShareRef, int] = field(default_factory=dict)

    @property
    def in_flux(self) -> bool:
        """Counted in the year's base: neither deducted nor withdrawn."""
        return self.deduction is None and not self.withdrawn


@dataclass(frozen=True)
class LateEntry:
    """An entry about a closed year, recorded after its close."""

    concerns: int  # the closed year
    id: int
    kind: str
    effective_date: date
    recorded_at: datetime
    vacancy_id: int | None
    share_id: int | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Reconciled:
    """A share's year-end reconciliation: frozen by the close, or projected while it is open."""

    counted: int  # realised per the convention's counting event
    counting_event: str  # CountingEvent value
    gap_units: int  # FULL·counted − target
    carry_units: int  # into N+1: written by the close, or what the close would write
    final: bool  # True once the year is closed


@dataclass
class ScopeYear:
    """A scope's year, read once."""

    scope: Scope
    year: int
    closing: year_close.Closing | None  # None: the year is open
    balances: dict[ShareRef, Balance]  # the engine's, the landlord part included
    vacancies: dict[int, VacancyFacts]
    late: list[LateEntry] = field(default_factory=list)
    reconciled: dict[ShareRef, Reconciled] = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return self.closing is not None

    def balance(self, share: ShareRef) -> Balance:
        return self.balances.get(share) or Balance(share, None, 0, 0, 0, 0)

    def attributed_and_leased(self) -> tuple[Counter, Counter]:
        """Per share: vacancies of the flux with a live attribution, and with a live lease,
        counted for the share that held them then (the close's ``counted_events``)."""
        attributed: Counter = Counter()
        leased: Counter = Counter()
        for vacancy in self.vacancies.values():
            if not vacancy.in_flux:
                continue
            if vacancy.attributed is not None:
                attributed[vacancy.attributed] += 1
            if vacancy.leased is not None:
                leased[vacancy.leased] += 1
        return attributed, leased


def load(
    session: Session,
    scope: Scope,
    year: int,
    shares: Iterable[int] = (),
    closings: dict[tuple[Scope, int], year_close.Closing] | None = None,
) -> ScopeYear:
    """The scope's year from the journal: one query for the year's entries (up to its close
    when it is closed), and, around a close, one for the entries recorded after it.

    ``shares``: the scope's shares in force in the year, reconciled even without any vacancy.
    ``closings``: the closings of the year and the previous one (``closings_of``), when the
    caller has read them for many scopes at once; read here otherwise.
    """
    if closings is None:
        closings = {
            (scope, y): found
            for y in (year - 1, year)
            if (found := year_close.closing(session, scope, y)) is not None
        }
    closing, previous = closings.get((scope, year)), closings.get((scope, year - 1))
    columns = _columns(session.get_bind().dialect.name)
    stmt = _scope(sa.select(*columns), scope).where(
        JournalEntry.period == year, JournalEntry.kind.in_(_KINDS)
    )
    if closing is not None:
        stmt = stmt.where(JournalEntry.id <= closing.through_id)
    rows = session.connection().execute(stmt).all()
    rows.sort(key=operator.itemgetter(0))  # here: PostgreSQL would sort the wide rows on disk
    fold_rows, vacancies = _read(rows, closing is None)
    if closing is None:
        book = Book(AllocationState())
        allocation_book.fold(book, fold_rows)  # the engine's own fold, as /balances
        balances = allocation.balances(book.state)
    else:
        balances = {
            share: Balance(
                share,
                None,
                int(row["eligible"]),
                int(row["target_units"]),
                int(row["carry_in_units"]),
                int(row["realised"]),
            )
            for share, row in closing.shares.items()
        }
    result = ScopeYear(scope, year, closing, balances, vacancies)
    if previous is not None:  # late entries of the previous year are shown in this one too
        _, previous_carries = _carries_from(session, scope, year - 1)
        result.late += _late_entries(
            session, scope, year - 1, previous.through_id, _causes(previous_carries)
        )
    if closing is None:
        result.reconciled = _projected(session, result, set(shares))
    else:
        carried_out, late_carries = _carries_from(session, scope, year)
        result.late += _late_entries(
            session, scope, year, closing.through_id, _causes(late_carries)
        )
        result.late += late_carries
        result.reconciled = _frozen(closing, carried_out)
    return result


def closings_of(session: Session, year: int) -> dict[tuple[Scope, int], year_close.Closing]:
    """Every scope's closing of ``year`` and of the year before, in one query."""
    stmt = sa.select(JournalEntry).where(
        JournalEntry.kind == Kind.YEAR_CLOSED, JournalEntry.period.in_([year - 1, year])
    )
    found = {}
    for entry in session.scalars(stmt):
        closing = year_close.closing_from(entry)
        found[closing.scope, closing.year] = closing
    return found


# --- the year's entries -----------------------------------------------------------------------

# The query selects only the entries the report reads (no designations, no CALEOL refusals) and
# only what it reads of their payloads: each vacancy's eligible shares and dwelling snapshot, the
# small payloads of the other kinds it follows, and the proposal of each orientation (never the
# explanations, the bulk of the journal). JSON is selected as text on both engines and decoded
# here (psycopg would decode every value itself, SQLAlchemy's JSON type too): a scope's
# vacancies share a few eligible sets, each decoded once.
_LOGGED, _ORIENTATION, _OVERRIDE = Kind.VACANCY_LOGGED.value, Kind.ORIENTATION.value, "override"
_ATTRIBUTION, _LEASE, _CORRECTION = Kind.CAL_ATTRIBUTION.value, Kind.LEASE.value, "correction"
_TAKE_BACKS = (Kind.CARENCE.value, Kind.TAKE_BACK.value)
_WITHDRAWAL, _CARRY_OVER = Kind.WITHDRAWAL.value, Kind.CARRY_OVER.value
_ADJUSTMENT = Kind.TARGET_ADJUSTMENT.value
_KINDS = (
    _LOGGED,
    _ORIENTATION,
    _OVERRIDE,
    *_TAKE_BACKS,
    _ATTRIBUTION,
    _LEASE,
    _WITHDRAWAL,
    _CORRECTION,
    _CARRY_OVER,
    _ADJUSTMENT,  # a late amendment's targets, folded as /balances folds them
)
_PAYLOAD_KINDS = (_OVERRIDE, *_TAKE_BACKS, _CARRY_OVER, _ADJUSTMENT)
_HOUSEHOLD = ("dalo", "prioritaire", "first_quartile")
_LANDLORD_TEXT = json.dumps(LANDLORD)
_SNAPSHOT = ("deduction", "commune", "qpv", "typology", "financing", "construction_year")


def _columns(dialect: str) -> tuple[Any, ...]:
    entry, payload = JournalEntry, JournalEntry.payload
    logged = entry.kind == _LOGGED
    attribution = entry.kind == _ATTRIBUTION
    if dialect == "sqlite":  # one parse of each payload for its snapshot, not one per field
        snapshot = sa.func.json_extract(payload, *(f"$.{key}" for key in _SNAPSHOT))
        # JSON true/false come back as 1/0: no result processor to run on every row.
        household = [sa.func.json_extract(payload, f"$.household.{key}") for key in _HOUSEHOLD]
    else:
        snapshot = sa.func.json_build_array(*(payload[key] for key in _SNAPSHOT))
        household = [payload[("household", key)].as_boolean() for key in _HOUSEHOLD]
    return (
        entry.id,
        entry.kind,
        entry.vacancy_id,
        entry.share_id,
        entry.reverses_id,
        sa.cast(sa.case((entry.kind.in_(_PAYLOAD_KINDS), payload)), sa.Text),
        sa.cast(sa.case((entry.kind == _ORIENTATION, payload["proposed"])), sa.Text),
        sa.cast(sa.case((logged, payload["eligible"])), sa.Text),
        sa.cast(sa.case((logged, snapshot)), sa.Text),
        *(sa.case((attribution, flag)) for flag in household),
    )


def _scope(stmt: sa.Select[Any], scope: Scope) -> sa.Select[Any]:
    return stmt.where(
        JournalEntry.landlord_id == scope.landlord_id,
        JournalEntry.departement_code == scope.departement,
    )


def _decode(value: str | None) -> Any:
    """A JSON column's text (None for SQL NULL)."""
    return None if value is None else json.loads(value)


class _FoldRow(NamedTuple):
    """A journal row as the allocation fold reads it."""

    id: int
    kind: str
    vacancy_id: int | None
    share_id: int | None
    payload: dict[str, Any]
    effective_date: date | None = None  # the fold keeps it with each vacancy; unused here


def _read(
    rows: Sequence[Any], fold: bool, decode: Callable[[str | None], Any] = _decode
) -> tuple[list[_FoldRow], dict[int, VacancyFacts]]:
    """One pass over the rows (in id order): each vacancy followed through its live entries
    (a correction's target is skipped), and, when ``fold``, the allocation fold's rows.

    ``decode`` reads the JSON columns: a caller reading the same rows several times (the
    monthly series, once per month end) passes one that remembers them."""
    reversed_ids = {row[4] for row in rows if row[1] == _CORRECTION}
    eligible_sets: dict[str, Any] = {}
    folded: list[_FoldRow] = []
    vacancies: dict[int, VacancyFacts] = {}
    for id_, kind, vacancy_id, share_id, _, raw, proposed, eligible, snapshot, *household in rows:
        if kind == _LOGGED:
            deduction, commune, qpv, typology, financing, year = decode(snapshot)
            # A scope's vacancies share a few eligible sets: each decoded once.
            eligible = eligible_sets.get(eligible) or eligible_sets.setdefault(
                eligible, decode(eligible)
            )
            vacancies[id_] = VacancyFacts(
                id_, commune, qpv is not None, typology, financing, year, deduction, eligible
            )
            if fold:
                payload = {"eligible": eligible, "deduction": deduction}
                folded.append(_FoldRow(id_, kind, vacancy_id, share_id, payload))
            continue
        vacancy = vacancies.get(vacancy_id)  # type: ignore[arg-type]
        if kind == _ORIENTATION:
            chosen = share_ref(share_id)  # the orientation's share is its choice
            if fold:
                folded.append(_FoldRow(id_, kind, vacancy_id, share_id, {"chosen": chosen}))
            if vacancy is not None:
                vacancy.holder = chosen
                _propose(vacancy, chosen)
                # The proposal, as JSON text, is the choice's but for an override.
                if proposed != (_LANDLORD_TEXT if share_id is None else str(share_id)):
                    vacancy.overrides.append((share_ref(decode(proposed)), chosen))
        elif kind in (_ATTRIBUTION, _LEASE):
            if vacancy is None or id_ in reversed_ids:
                continue
            if kind == _LEASE:
                vacancy.leased = share_ref(share_id)
                continue
            vacancy.attributed = share_ref(share_id)
            vacancy.household = dict(zip(_HOUSEHOLD, map(bool, household), strict=True))
            vacancy.attributed_after_take_back = bool(vacancy.taken_back)
        elif kind != _CORRECTION:
            payload = decode(raw) or {}
            if fold:
                folded.append(_FoldRow(id_, kind, vacancy_id, share_id, payload))
            if vacancy is not None:
                _follow(vacancy, kind, share_id, payload)
    return folded, vacancies


def _follow(vacancy: VacancyFacts, kind: str, share_id: int | None, payload: dict) -> None:
    """A re-orientation, a take-back or a withdrawal, and the holder after it (as the fold
    moves it: ``allocation_book``)."""
    if kind == _OVERRIDE:
        received = share_ref(payload["to"])
        _propose(vacancy, received)
        vacancy.overrides.append((share_ref(payload["from"]), received))
        vacancy.holder = received
    elif kind in _TAKE_BACKS:
        holder = share_ref(share_id if share_id is not None else payload.get("from"))
        counted = bool(payload.get("counted", True))
        vacancy.taken_back.append((holder, counted))
        if not counted and vacancy.holder is not None:
            vacancy.holder = LANDLORD  # re-credited: the landlord lets it this turn
    elif kind == _WITHDRAWAL:
        vacancy.withdrawn = True
        vacancy.holder = None
    elif kind == _ADJUSTMENT:
        for share, units in payload.get("units", {}).items():
            ref = share_ref(share)
            vacancy.adjusted[ref] = vacancy.adjusted.get(ref, 0) + int(units)


def _propose(vacancy: VacancyFacts, share: ShareRef) -> None:
    if share not in vacancy.proposed:
        vacancy.proposed.append(share)


# --- around a close -----------------------------------------------------------------------------

_LATE_COLUMNS = (
    JournalEntry.id,
    JournalEntry.kind,
    JournalEntry.effective_date,
    JournalEntry.recorded_at,
    JournalEntry.vacancy_id,
    JournalEntry.share_id,
    JournalEntry.payload,
)


def _causes(late_carries: list[LateEntry]) -> set[int]:
    """The entries that moved a closed year's figures: those its late carry adjustments name."""
    return {
        int(entry.payload["cause_id"])
        for entry in late_carries
        if entry.payload.get("cause_id") is not None
    }


def _late_entries(
    session: Session, scope: Scope, year: int, through: int, causes: set[int]
) -> list[LateEntry]:
    """The entries about a closed year, recorded after its close, that change its figures:
    those ``year_close.adjust_late`` answered with a carry adjustment (``causes``). A routine
    follow-up recorded after the close (a January designation, CALEOL decision or lease of a
    December vacancy that counts on its orientation) changes nothing: it is no late entry."""
    if not causes:
        return []
    stmt = _scope(sa.select(*_LATE_COLUMNS), scope).where(
        JournalEntry.period == year,
        JournalEntry.id > through,
        JournalEntry.id.in_(sorted(causes)),
        JournalEntry.kind != Kind.YEAR_CLOSED,
    )
    return [
        LateEntry(year, *row[:-1], row.payload or {})
        for row in session.execute(stmt.order_by(JournalEntry.id))
    ]


def _carries_from(
    session: Session, scope: Scope, year: int
) -> tuple[dict[ShareRef, int], list[LateEntry]]:
    """The carry-over entries written into N+1 by N's close, and the later adjustments (into
    the first open year after N: N+1, or later when N+1 was closed too)."""
    stmt = _scope(sa.select(*_LATE_COLUMNS, JournalEntry.period), scope).where(
        JournalEntry.period > year, JournalEntry.kind == Kind.CARRY_OVER
    )
    carried: dict[ShareRef, int] = {}
    late = []
    for row in session.execute(stmt.order_by(JournalEntry.id)):
        payload = row[6] or {}
        if payload.get("from_year") != year:
            continue
        if payload.get("late"):
            late.append(LateEntry(year, *row[:6], payload))
        elif row.period == year + 1:
            share = share_ref(row.share_id)
            carried[share] = carried.get(share, 0) + int(payload["units"])
    return carried, late


def _projected(
    session: Session, scope_year: ScopeYear, shares: set[int]
) -> dict[ShareRef, Reconciled]:
    """An open year's reconciliation, every share's: what closing it now would freeze."""
    balances = {share: scope_year.balance(share) for share in {*scope_year.balances, *shares}}
    balances.setdefault(LANDLORD, scope_year.balance(LANDLORD))
    ids = [share for share in balances if share != LANDLORD]
    # The close's own policies (carry-over, share still in force, counting event).
    policies = year_close.carry_policies(session, scope_year.scope, scope_year.year, ids)
    attributed, leased = scope_year.attributed_and_leased()
    return {
        share: Reconciled(
            closed.counted,
            str(closed.counting_event),
            closed.gap_units,
            closed.carry_units,
            final=False,
        )
        for share, closed in reconciliation.close(balances, policies, attributed, leased).items()
    }


def _frozen(
    closing: year_close.Closing, carried_out: dict[ShareRef, int]
) -> dict[ShareRef, Reconciled]:
    """A closed year's reconciliation as its close froze it, the carry read from the carry-over
    entries it wrote. A share without any vacancy in the year is not in it: nothing to carry."""
    return {
        share: Reconciled(
            int(row["counted"]),
            str(row["counting_event"]),
            int(row["gap_units"]),
            carried_out.get(share, 0),
            final=True,
        )
        for share, row in closing.shares.items()
    }


def vacancies_as_of(
    session: Session, scope: Scope, year: int, as_of: date, through: int | None
) -> dict[int, VacancyFacts]:
    """The year's vacancies as the bilan counts them, from the entries dated on or before
    ``as_of`` (and up to the close's last entry ``through``): what /balances reports beside
    the engine's figures (issue 11 item 5), with the bilan's own reading of the journal."""
    columns = _columns(session.get_bind().dialect.name)
    stmt = _scope(sa.select(*columns), scope).where(
        JournalEntry.period == year,
        JournalEntry.kind.in_(_KINDS),
        JournalEntry.effective_date <= as_of,
    )
    if through is not None:
        stmt = stmt.where(JournalEntry.id <= through)
    rows = session.connection().execute(stmt).all()
    rows.sort(key=operator.itemgetter(0))
    return _read(rows, False)[1]


__all__ = [
    "LateEntry",
    "Reconciled",
    "ScopeYear",
    "VacancyFacts",
    "closings_of",
    "load",
    "vacancies_as_of",
]
