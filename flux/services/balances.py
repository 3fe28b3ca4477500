"""Balances (état des droits): per share, target, realised and gap as of any date,
folded from the journal (domain.md §6); and each share's monthly cumulative series over a year
(the reserver's chart: target against realised)."""

from __future__ import annotations

import threading
from calendar import monthrange
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import allocation, reconciliation
from flux.domain.allocation import FULL, LANDLORD
from flux.domain.conventions import format_dwellings, format_percent
from flux.domain.reference import Role
from flux.models import Convention, JournalEntry, Organisation, Share
from flux.reporting import facts
from flux.services import allocation_book, scope_conventions, year_close
from flux.services.access import Actor
from flux.services.allocation_book import Scope
from flux.services.journal import Kind


@dataclass(frozen=True)
class BalanceQuery:
    as_of: date
    year: int | None = None
    landlord: int | None = None
    departement: str | None = None
    reserver: int | None = None
    convention: int | None = None
    share: int | None = None


@dataclass(frozen=True)
class SeriesQuery:
    year: int | None = None  # default: the current year
    landlord: int | None = None
    departement: str | None = None
    reserver: int | None = None
    convention: int | None = None
    share: int | None = None


def balances(session: Session, actor: Actor, query: BalanceQuery) -> list[dict[str, Any]]:
    """Every visible share's balance (and each scope's landlord part) as of a date, with the
    bilan's figures beside the engine's (proposed, attributions, leases, take-backs, counted
    per the counting event, gap on it, completion rate) and who it is about (codes, labels,
    percentage in force and its history within the year).

    A scope's figures are kept once computed, keyed by the journal's state of the scope's year:
    a second call reads that state (one statement) and serves them from memory."""
    year = query.year or query.as_of.year
    as_of = query.as_of  # events of year N dated in N+1 (a January lease) still count for N
    rows = []
    for scope in _scopes(session, actor, query, year):
        known = _scope_shares(session, scope, year)
        figures = _scope_figures(session, scope, year, as_of)
        shares = set(known) | {s for s in figures if s != LANDLORD}
        labels = scope_conventions.share_labels(session, shares, as_of)
        terms = _terms(session, scope, year, as_of)
        identity = _landlord_identity(session, scope.landlord_id)
        for share in sorted(set(known) | {s for s in figures if s != LANDLORD}) + [LANDLORD]:
            if not _wanted(actor, query, share, labels):
                continue
            row = figures.get(share) or _empty_figures(share, figures)
            rows.append(
                {
                    **_identity(scope, year, share, labels),
                    "landlord": identity,
                    **terms.get(share, _NO_TERMS),
                    "as_of": as_of,
                    **row,
                }
            )
    return rows


_NO_TERMS: dict[str, Any] = {
    "share_code": None,
    "basis_points": None,
    "percent": None,
    "percent_history": [],
}
_figure_cache: dict[tuple[Any, ...], dict[Any, dict[str, Any]]] = {}
_figure_lock = threading.Lock()
_FIGURE_CACHE_SIZE = 512


def clear_cache() -> None:
    with _figure_lock:
        _figure_cache.clear()


def _scope_figures(
    session: Session, scope: Scope, year: int, as_of: date
) -> dict[Any, dict[str, Any]]:
    """Per share of the scope (the landlord part included): the figures as of the date."""
    count, last, latest_close = session.execute(
        sa.select(
            sa.func.count(JournalEntry.id),
            sa.func.coalesce(sa.func.max(JournalEntry.id), 0),
            sa.func.max(sa.case((JournalEntry.kind == Kind.YEAR_CLOSED, JournalEntry.id))),
        ).where(
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.period == year,
        )
    ).one()
    conventions = scope_conventions.load(session, scope.landlord_id, scope.departement)
    key = (
        str(session.get_bind().url),
        scope,
        year,
        as_of,
        count,
        last,
        latest_close,
        id(conventions),  # a new convention version is a new cached object
    )
    with _figure_lock:
        found = _figure_cache.get(key)
    if found is not None:
        return found
    computed = _compute_figures(session, scope, year, as_of)
    with _figure_lock:
        if len(_figure_cache) >= _FIGURE_CACHE_SIZE:
            _figure_cache.clear()
        _figure_cache[key] = computed
    return computed


def _compute_figures(
    session: Session, scope: Scope, year: int, as_of: date
) -> dict[Any, dict[str, Any]]:
    book = allocation_book.as_of(session, scope, year, as_of)
    by_share = allocation.balances(book.state)
    subs = allocation.sub_balances(book.state)
    through = allocation_book.closed_through(session, scope, year)
    counts = bilan_counts(facts.vacancies_as_of(session, scope, year, as_of, through))
    ids = [s for s in {*by_share, *_scope_shares(session, scope, year)} if s != LANDLORD]
    balances_ = {share: by_share.get(share) or _zero(share) for share in ids}
    balances_[LANDLORD] = by_share.get(LANDLORD) or _zero(LANDLORD)
    policies = year_close.carry_policies(session, scope, year, ids)
    closed = reconciliation.close(balances_, policies, counts["attributions"], counts["leases"])
    result = {}
    for share, balance in balances_.items():
        closing = closed[share]
        result[share] = {
            **_figures(balance),
            **{name: counts[name][share] for name in COUNT_NAMES},
            "counting_event": str(closing.counting_event),
            "counted": closing.counted,
            "gap_counted": format_dwellings(closing.gap_units),
            "gap_counted_units": closing.gap_units,
            "completion_rate": _rate(closing.counted, balance.target_units),
            "sub_targets": [
                {"key": key, **_figures(sub)}
                for (owner, key), sub in subs.items()
                if owner == share
            ],
        }
    return result


COUNT_NAMES = (
    "proposed",
    "attributions",
    "leases",
    "taken_back_counted",
    "taken_back_not_counted",
)


def bilan_counts(vacancies: dict[int, facts.VacancyFacts]) -> dict[str, Counter]:
    """Per share, as the bilan counts them: vacancies proposed, with a live attribution, with a
    live lease (for the share that held them then), taken back (counted or not). Withdrawn and
    deducted vacancies count nowhere."""
    counts: dict[str, Counter] = {name: Counter() for name in COUNT_NAMES}
    for vacancy in vacancies.values():
        if not vacancy.in_flux:
            continue
        for share in vacancy.proposed:
            counts["proposed"][share] += 1
        for share, counted in set(vacancy.taken_back):
            counts["taken_back_counted" if counted else "taken_back_not_counted"][share] += 1
        if vacancy.attributed is not None:
            counts["attributions"][vacancy.attributed] += 1
        if vacancy.leased is not None:
            counts["leases"][vacancy.leased] += 1
    return counts


def _rate(counted: int, target_units: int) -> str | None:
    """Counted as a percentage of the target, two decimals; None without a target."""
    if target_units <= 0:
        return None
    value = (Decimal(counted) * FULL * 100 / Decimal(target_units)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return f"{value:.2f}"


def _zero(share: Any) -> allocation.Balance:
    return allocation.Balance(share, None, 0, 0, 0, 0)


def _empty_figures(share: Any, figures: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    balance = _zero(share)
    return {
        **_figures(balance),
        **dict.fromkeys(COUNT_NAMES, 0),
        "counting_event": "orientation",
        "counted": 0,
        "gap_counted": format_dwellings(0),
        "gap_counted_units": 0,
        "completion_rate": None,
        "sub_targets": [],
    }


def _terms(session: Session, scope: Scope, year: int, as_of: date) -> dict[Any, dict[str, Any]]:
    """Per share: its code, the percentage in force on `as_of` (or on the year's last day
    when `as_of` is later), and each change of it within the year."""
    conventions = scope_conventions.load(session, scope.landlord_id, scope.departement)
    day = min(as_of, date(year, 12, 31))
    start, end = date(year, 1, 1), date(year, 12, 31)
    history: dict[int, list[tuple[date, int]]] = defaultdict(list)
    current: dict[int, int] = {}
    for view in sorted(conventions.views, key=lambda v: v.effective_from):
        in_year = view.effective_from <= end and (
            view.effective_until is None or view.effective_until > start
        )
        for share in view.shares:
            if in_year:
                since = max(view.effective_from, start)
                if (
                    not history[share.share_id]
                    or history[share.share_id][-1][1] != share.basis_points
                ):
                    history[share.share_id].append((since, share.basis_points))
            if view.effective_from <= day and (
                view.effective_until is None or view.effective_until > day
            ):
                current[share.share_id] = share.basis_points
    codes = dict(
        session.execute(
            sa.select(Share.id, Share.code).where(Share.id.in_(set(history) | set(current)))
        ).all()
    )
    result: dict[Any, dict[str, Any]] = {}
    for share_id in set(history) | set(current):
        points = current.get(share_id)
        result[share_id] = {
            "share_code": codes.get(share_id),
            "basis_points": points,
            "percent": None if points is None else format_percent(points),
            "percent_history": [
                {"from": since, "basis_points": bp, "percent": format_percent(bp)}
                for since, bp in history[share_id]
            ],
        }
    return result


def _landlord_identity(session: Session, landlord_id: int) -> dict[str, Any]:
    found = session.execute(
        sa.select(Organisation.code, Organisation.name).where(Organisation.id == landlord_id)
    ).one_or_none()
    return {
        "id": landlord_id,
        "code": found.code if found else None,
        "name": found.name if found else None,
    }


def totals(session: Session, actor: Actor, query: BalanceQuery) -> dict[str, list[dict[str, Any]]]:
    """The visible rows of `balances` summed per réservataire and per landlord."""
    rows = balances(session, actor, query)
    by_reserver: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    by_landlord: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if not row["landlord_part"]:
            by_reserver[row["reserver"]["id"]].append(row)
        by_landlord[row["landlord_id"]].append(row)
    return {
        "reservers": [
            {"reserver": group[0]["reserver"], **_sum(group)} for group in by_reserver.values()
        ],
        "landlords": [
            {"landlord": group[0]["landlord"], **_sum(group)} for group in by_landlord.values()
        ],
    }


def _sum(rows: list[dict[str, Any]]) -> dict[str, Any]:
    target = sum(row["target_units"] for row in rows)
    counted = sum(row["counted"] for row in rows)
    summed = {name: sum(row[name] for row in rows) for name in ("realised", *COUNT_NAMES)}
    gap = sum(row["gap_counted_units"] for row in rows)
    return {
        "shares": len(rows),
        "target": format_dwellings(target),
        "target_units": target,
        **summed,
        "counted": counted,
        "gap_counted": format_dwellings(gap),
        "completion_rate": _rate(counted, target),
    }


def _identity(scope: Scope, year: int, share: Any, labels: dict[int, dict]) -> dict[str, Any]:
    """Who a row is about: the share (label, convention, reserver) or the landlord part."""
    info = (
        {"share_id": None, "landlord_part": True, "label": "Part non réservée du bailleur"}
        if share == LANDLORD
        else {"landlord_part": False, **labels.get(share, {"share_id": share})}
    )
    return {
        **info,
        "landlord_id": scope.landlord_id,
        "departement": scope.departement,
        "year": year,
    }


def _figures(balance: allocation.Balance) -> dict[str, Any]:
    return {
        "eligible": balance.eligible,
        "target": format_dwellings(balance.target_units),
        "target_units": balance.target_units,
        "realised": balance.realised,
        "gap": format_dwellings(balance.gap_units),
        "carry_in": format_dwellings(balance.carry_in_units),
    }


def monthly_balances(
    session: Session, actor: Actor, query: SeriesQuery, today: date | None = None
) -> list[dict[str, Any]]:
    """Every visible share's (and landlord part's) cumulative balance at each month end of a
    year: the figures of `balances` as of that day, from 1 January.

    No point lies after today: the current month's point is as of today, and later months
    (or a future year) have none. Each scope is folded once per point, never per share.
    """
    today = today or clock.today()
    year = query.year or today.year
    days = month_ends(year, today)
    labels_on = days[-1] if days else date(year, 1, 1)
    rows = []
    for scope in _scopes(session, actor, query, year):
        months = [
            allocation.balances(allocation_book.as_of(session, scope, year, day).state)
            for day in days
        ]
        known = _scope_shares(session, scope, year)
        labels = scope_conventions.share_labels(session, set(known), labels_on)
        folded = {share for month in months for share in month if share != LANDLORD}
        for share in sorted(set(known) | folded) + [LANDLORD]:
            if not _wanted(actor, query, share, labels):
                continue
            points = [
                _point(day, month.get(share) or allocation.Balance(share, None, 0, 0, 0, 0))
                for day, month in zip(days, months, strict=True)
            ]
            rows.append({**_identity(scope, year, share, labels), "months": points})
    return rows


def month_ends(year: int, today: date) -> list[date]:
    """The days a year's series is drawn at: each month's last day, none after today (the
    current month's point is today itself)."""
    return [
        min(date(year, month, monthrange(year, month)[1]), today)
        for month in range(1, 13)
        if date(year, month, 1) <= today
    ]


def _point(day: date, balance: allocation.Balance) -> dict[str, Any]:
    return {"month": f"{day.year:04d}-{day.month:02d}", "as_of": day, **_figures(balance)}


def _wanted(
    actor: Actor, query: BalanceQuery | SeriesQuery, share: Any, labels: dict[int, dict]
) -> bool:
    if share == LANDLORD:
        # The landlord part is the landlord's business (and the prefecture's, the admin's).
        return (
            actor.role is not Role.RESERVER
            and query.reserver is None
            and query.convention is None
            and query.share is None
        )
    info = labels.get(share, {})
    reserver_id = info.get("reserver", {}).get("id")
    if actor.role is Role.RESERVER and reserver_id != actor.organisation_id:
        return False
    return (
        (query.reserver is None or reserver_id == query.reserver)
        and (query.convention is None or info.get("convention_id") == query.convention)
        and (query.share is None or share == query.share)
    )


def _scope_shares(session: Session, scope: Scope, year: int) -> list[int]:
    """Shares of the scope's conventions valid at some point of the year (zero rows too)."""
    conventions = scope_conventions.load(session, scope.landlord_id, scope.departement)
    start, end = date(year, 1, 1), date(year, 12, 31)
    return sorted(
        {
            share.share_id
            for view in conventions.views
            for share in view.shares
            if view.effective_from <= end
            and (view.effective_until is None or view.effective_until > start)
            and view.valid_from <= end
            and (view.valid_until is None or view.valid_until >= start)
        }
    )


def _scopes(
    session: Session, actor: Actor, query: BalanceQuery | SeriesQuery, year: int
) -> list[Scope]:
    """Scopes with conventions or entries in the year that the caller may look into."""
    from_conventions = sa.select(Convention.landlord_id, Convention.departement_code)
    from_journal = sa.select(JournalEntry.landlord_id, JournalEntry.departement_code).where(
        JournalEntry.period == year, JournalEntry.landlord_id.is_not(None)
    )
    pairs = {tuple(row) for row in session.execute(sa.union(from_conventions, from_journal))}
    if actor.role is Role.LANDLORD:
        pairs = {p for p in pairs if p[0] == actor.organisation_id}
    elif actor.role is Role.PREFECTURE:
        pairs = {p for p in pairs if p[1] == actor.departement}
    elif actor.role is Role.RESERVER:
        mine = {
            tuple(row)
            for row in session.execute(
                sa.select(Convention.landlord_id, Convention.departement_code).where(
                    Convention.reserver_id == actor.organisation_id
                )
            )
        }
        pairs &= mine
    if query.landlord is not None:
        pairs = {p for p in pairs if p[0] == query.landlord}
    if query.departement is not None:
        pairs = {p for p in pairs if p[1] == query.departement}
    if query.convention is not None or query.share is not None:
        conv = query.convention or session.scalar(
            sa.select(Share.convention_id).where(Share.id == query.share)
        )
        owner = session.execute(
            sa.select(Convention.landlord_id, Convention.departement_code).where(
                Convention.id == conv
            )
        ).first()
        pairs = {p for p in pairs if owner is not None and p == tuple(owner)}
    return [Scope(landlord, departement) for landlord, departement in sorted(pairs)]
