"""Balances (état des droits): per share, target, realised and gap as of any date,
folded from the journal (domain.md §6); and each share's monthly cumulative series over a year
(the reserver's chart: target against realised)."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import allocation
from flux.domain.allocation import LANDLORD
from flux.domain.conventions import format_dwellings
from flux.domain.reference import Role
from flux.models import Convention, JournalEntry, Share
from flux.services import allocation_book, scope_conventions
from flux.services.access import Actor
from flux.services.allocation_book import Scope


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
    """Every visible share's balance (and each scope's landlord part) as of a date."""
    year = query.year or query.as_of.year
    as_of = query.as_of  # events of year N dated in N+1 (a January lease) still count for N
    rows = []
    for scope in _scopes(session, actor, query, year):
        book = allocation_book.as_of(session, scope, year, as_of)
        known = _scope_shares(session, scope, year)
        by_share = allocation.balances(book.state)
        subs = allocation.sub_balances(book.state)
        labels = scope_conventions.share_labels(session, set(known), as_of)
        for share in sorted(set(known) | {s for s in by_share if s != LANDLORD}) + [LANDLORD]:
            if not _wanted(actor, query, share, labels):
                continue
            balance = by_share.get(share) or allocation.Balance(share, None, 0, 0, 0, 0)
            rows.append(_row(scope, year, as_of, share, balance, labels, subs))
    return rows


def _row(
    scope: Scope,
    year: int,
    as_of: date,
    share: Any,
    balance: allocation.Balance,
    labels: dict[int, dict],
    subs: dict,
) -> dict[str, Any]:
    return {
        **_identity(scope, year, share, labels),
        "as_of": as_of,
        **_figures(balance),
        "sub_targets": [
            {"key": key, **_figures(sub)} for (owner, key), sub in subs.items() if owner == share
        ],
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
