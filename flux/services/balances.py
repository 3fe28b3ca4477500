"""Balances (état des droits): per share, target, realised and gap as of any date,
folded from the journal (domain.md §6); and each share's monthly cumulative series over a year
(the reserver's chart: target against realised)."""

from __future__ import annotations

import json
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
    a second call reads those states, the conventions' fingerprints, the share codes and the
    landlords of all the scopes at once (one statement each, whatever the number of scopes);
    labels come from the conventions in memory."""
    year = query.year or query.as_of.year
    as_of = query.as_of  # events of year N dated in N+1 (a January lease) still count for N
    scopes = _scopes(session, actor, query, year)
    marks = _journal_marks(session, scopes, year)
    pairs = [(scope.landlord_id, scope.departement) for scope in scopes]
    by_scope = scope_conventions.load_many(session, pairs)
    loaded = []
    for scope in scopes:
        conventions = by_scope[(scope.landlord_id, scope.departement)]
        known = _scope_shares(conventions, year)
        figures = _scope_figures(session, scope, year, as_of, conventions, marks.get(scope))
        shares = sorted(set(known) | {s for s in figures if s != LANDLORD})
        loaded.append((scope, conventions, shares, figures))
    codes = _share_codes(session, {s for *_, shares, _ in loaded for s in shares})
    identities = _landlord_identities(session, {scope.landlord_id for scope in scopes})
    rows = []
    for scope, conventions, shares, figures in loaded:
        labels = conventions.share_labels(set(shares), as_of)
        terms = _terms(conventions, year, as_of, codes)
        for share in [*shares, LANDLORD]:
            if not _wanted(actor, query, share, labels):
                continue
            row = figures.get(share) or _empty_figures(share, figures)
            rows.append(
                {
                    **_identity(scope, year, share, labels),
                    "landlord": identities[scope.landlord_id],
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
# key -> (the conventions the figures were computed with, the figures)
_figure_cache: dict[tuple[Any, ...], tuple[Any, dict[Any, dict[str, Any]]]] = {}
_figure_lock = threading.Lock()
_FIGURE_CACHE_SIZE = 512


def clear_cache() -> None:
    with _figure_lock:
        _figure_cache.clear()


def _journal_marks(session: Session, scopes: list[Scope], year: int) -> dict[Scope, tuple]:
    """Per scope, what its year's figures are made of: (entries, last id, last close id) of
    the year, for every scope in one statement (an append-only journal: they move with it)."""
    if not scopes:
        return {}
    landlords = {scope.landlord_id for scope in scopes}
    rows = session.execute(
        sa.select(
            JournalEntry.landlord_id,
            JournalEntry.departement_code,
            sa.func.count(JournalEntry.id),
            sa.func.coalesce(sa.func.max(JournalEntry.id), 0),
            sa.func.max(sa.case((JournalEntry.kind == Kind.YEAR_CLOSED, JournalEntry.id))),
        )
        .where(
            JournalEntry.landlord_id.in_(landlords),
            JournalEntry.departement_code.in_({scope.departement for scope in scopes}),
            JournalEntry.period == year,
        )
        .group_by(JournalEntry.landlord_id, JournalEntry.departement_code)
    )
    return {Scope(landlord, code): tuple(marks) for landlord, code, *marks in rows}


def _scope_figures(
    session: Session,
    scope: Scope,
    year: int,
    as_of: date,
    conventions: scope_conventions.ScopeConventions,
    marks: tuple | None,
) -> dict[Any, dict[str, Any]]:
    """Per share of the scope (the landlord part included): the figures as of the date."""
    key = (
        str(session.get_bind().url),
        scope,
        year,
        as_of,
        marks or (0, 0, None),
        id(conventions),  # a new convention version is a new cached object
    )
    with _figure_lock:
        found = _figure_cache.get(key)
    # The entry holds its conventions: their id cannot be reused by a newer object while it
    # is cached, and the identity check refuses figures computed with other conventions.
    if found is not None and found[0] is conventions:
        return found[1]
    computed = figures_at(session, scope, year, [as_of], conventions)[as_of]
    with _figure_lock:
        if len(_figure_cache) >= _FIGURE_CACHE_SIZE:
            _figure_cache.clear()
        _figure_cache[key] = (conventions, computed)
    return computed


def figures_at(
    session: Session,
    scope: Scope,
    year: int,
    days: list[date],
    conventions: scope_conventions.ScopeConventions | None = None,
) -> dict[date, dict[Any, dict[str, Any]]]:
    """Per day asked, per share of the scope (the landlord part included): the figures as of
    that day, from ONE read and ONE fold of the year.

    The year's entries (up to the close's last one) are read once and folded in effective-date
    order, the engine's counters being taken at each day: they are sums, so the state after
    the entries dated on or before a day is the fold ``allocation_book.as_of`` makes of them
    in id order. The bilan's counts (attributions, leases, take-backs…) are the report's own
    reading (``reporting.facts``) of the same entries, up to each day.
    """
    days = sorted(set(days))
    conventions = conventions or scope_conventions.load(
        session, scope.landlord_id, scope.departement
    )
    through = allocation_book.closed_through(session, scope, year)
    rows = allocation_book._rows(session, scope, year, as_of=days[-1], through=through)
    rows.sort(key=lambda row: (row.effective_date, row.id))
    fact_rows = _fact_rows(session, scope, year, days[-1], through)
    book = allocation_book.Book(allocation.AllocationState())
    states, index = {}, 0
    for day in days:
        while index < len(rows) and rows[index].effective_date <= day:
            allocation_book.fold(book, (rows[index],))
            index += 1
        states[day] = (allocation.balances(book.state), allocation.sub_balances(book.state))
    known = _scope_shares(conventions, year)
    ids = [
        s
        for s in {*known, *(s for by_share, _ in states.values() for s in by_share)}
        if s != LANDLORD
    ]
    policies = year_close.carry_policies(session, scope, year, ids)
    decoded: dict[str, Any] = {}

    def decode(text: str | None) -> Any:  # each JSON column parsed once for all the days
        if text is None:
            return None
        found = decoded.get(text)
        if found is None:
            found = decoded[text] = json.loads(text)
        return found

    result = {}
    for day in days:
        by_share, subs = states[day]
        upto = [row[:-1] for row in fact_rows if row[-1] <= day]
        counts = bilan_counts(facts._read(upto, False, decode)[1])
        result[day] = _day_figures(by_share, subs, counts, policies, ids)
    return result


def _fact_rows(
    session: Session, scope: Scope, year: int, last: date, through: int | None
) -> list[Any]:
    """The entries the bilan reads (``facts.vacancies_as_of``), each with its effective date
    last, in id order: read once for every day of a series."""
    columns = facts._columns(session.get_bind().dialect.name)
    stmt = sa.select(*columns, JournalEntry.effective_date).where(
        JournalEntry.landlord_id == scope.landlord_id,
        JournalEntry.departement_code == scope.departement,
        JournalEntry.period == year,
        JournalEntry.kind.in_(facts._KINDS),
        JournalEntry.effective_date <= last,
    )
    if through is not None:
        stmt = stmt.where(JournalEntry.id <= through)
    rows = session.connection().execute(stmt).all()
    rows.sort(key=lambda row: row[0])
    return rows


def _day_figures(
    by_share: dict[Any, allocation.Balance],
    subs: dict[tuple[Any, str], allocation.Balance],
    counts: dict[str, Counter],
    policies: dict[int, Any],
    ids: list[int],
) -> dict[Any, dict[str, Any]]:
    balances_ = {share: by_share.get(share) or _zero(share) for share in ids}
    balances_[LANDLORD] = by_share.get(LANDLORD) or _zero(LANDLORD)
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


def _terms(
    conventions: scope_conventions.ScopeConventions,
    year: int,
    as_of: date,
    codes: dict[int, str],
) -> dict[Any, dict[str, Any]]:
    """Per share: its code, the percentage in force on `as_of` (or on the year's last day
    when `as_of` is later), and each change of it within the year."""
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


def _share_codes(session: Session, share_ids: set[int]) -> dict[int, str]:
    """Every share's code, for all the scopes of an answer in one statement."""
    if not share_ids:
        return {}
    stmt = sa.select(Share.id, Share.code).where(Share.id.in_(share_ids))
    return {share_id: code for share_id, code in session.execute(stmt)}


def _landlord_identities(session: Session, landlord_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each landlord's id, code and name, for all the scopes of an answer in one statement."""
    found = (
        {
            row.id: row
            for row in session.execute(
                sa.select(Organisation.id, Organisation.code, Organisation.name).where(
                    Organisation.id.in_(landlord_ids)
                )
            )
        }
        if landlord_ids
        else {}
    )
    return {
        landlord_id: {
            "id": landlord_id,
            "code": found[landlord_id].code if landlord_id in found else None,
            "name": found[landlord_id].name if landlord_id in found else None,
        }
        for landlord_id in landlord_ids
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
    year: the figures of `balances` as of that day, from 1 January (the engine's and the
    bilan's: counted per the counting event, attributions, leases, take-backs, gap on the
    counted figure, completion rate, percentage in force).

    No point lies after today: the current month's point is as of today, and later months
    (or a future year) have none. Each scope's year is read and folded once for all its
    points (``figures_at``, the code `balances` uses too), never once per month or share.
    """
    today = today or clock.today()
    year = query.year or today.year
    days = month_ends(year, today)
    labels_on = days[-1] if days else date(year, 1, 1)
    scopes = _scopes(session, actor, query, year)
    pairs = [(scope.landlord_id, scope.departement) for scope in scopes]
    by_scope = scope_conventions.load_many(session, pairs)
    loaded = []
    for scope in scopes:
        conventions = by_scope[(scope.landlord_id, scope.departement)]
        by_day = figures_at(session, scope, year, days, conventions) if days else {}
        known = _scope_shares(conventions, year)
        folded = {share for month in by_day.values() for share in month if share != LANDLORD}
        loaded.append((scope, conventions, sorted(set(known) | folded), by_day))
    codes = _share_codes(session, {s for *_, shares, _ in loaded for s in shares})
    rows = []
    for scope, conventions, shares, by_day in loaded:
        labels = conventions.share_labels(set(shares), labels_on)
        terms = {day: _terms(conventions, year, day, codes) for day in days}
        for share in [*shares, LANDLORD]:
            if not _wanted(actor, query, share, labels):
                continue
            points = [
                _point(day, by_day[day].get(share), terms[day].get(share, _NO_TERMS))
                for day in days
            ]
            identity = _identity(scope, year, share, labels)
            code = terms[days[-1]] if days else _terms(conventions, year, labels_on, codes)
            rows.append(
                {
                    **identity,
                    "share_code": code.get(share, _NO_TERMS)["share_code"],
                    "months": points,
                }
            )
    return rows


def month_ends(year: int, today: date) -> list[date]:
    """The days a year's series is drawn at: each month's last day, none after today (the
    current month's point is today itself)."""
    return [
        min(date(year, month, monthrange(year, month)[1]), today)
        for month in range(1, 13)
        if date(year, month, 1) <= today
    ]


def _point(day: date, figures: dict[str, Any] | None, terms: dict[str, Any]) -> dict[str, Any]:
    """A month's point: the day's figures, as `balances` gives them (sub-targets aside)."""
    figures = figures or _empty_figures(None, {})
    return {
        "month": f"{day.year:04d}-{day.month:02d}",
        "as_of": day,
        "basis_points": terms["basis_points"],
        "percent": terms["percent"],
        **{k: v for k, v in figures.items() if k != "sub_targets"},
    }


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


def _scope_shares(conventions: scope_conventions.ScopeConventions, year: int) -> list[int]:
    """Shares of the scope's conventions valid at some point of the year (zero rows too)."""
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
