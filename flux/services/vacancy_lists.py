"""Work lists of vacancies: filtered by stage, holder, deadline, commune and dates, sorted, and
served in a fixed number of statements whatever the page size.

A vacancy's stage and holder are replayed from its journal entries (never stored): the page's
entries are read in one statement and replayed in memory; the share labels of the whole page are
read once. Filters on what only the replay knows (stage, holder, deadline) replay every candidate
the SQL filters leave, still in a fixed number of statements. Replays, and what the API writes
of each description, are remembered per process while the vacancy's entries, labels and reader
are the same (`vacancy_memo`): a page served again reads its entries' ids, not their payloads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.allocation import LANDLORD
from flux.domain.lifecycle import Stage
from flux.domain.reference import Role
from flux.models import Convention, Dwelling, JournalEntry, Share
from flux.services import dwellings, references, scope_conventions, vacancies, vacancy_memo
from flux.services.access import Actor
from flux.services.journal import Kind
from flux.services.vacancy_events import visible_vacancies

SORTS = ("id", "-id", "available_on", "-available_on", "deadline", "-deadline")


@dataclass(frozen=True)
class VacancyFilters:
    landlord: int | str | None = None
    departement: str | None = None
    dwelling: int | None = None
    year: int | None = None
    available_from: date | None = None
    available_to: date | None = None
    commune: str | None = None
    stages: frozenset[Stage] = field(default_factory=frozenset)
    share: int | str | None = None
    convention: int | str | None = None
    reserver: int | str | None = None
    landlord_part: bool | None = None
    deadline_before: date | None = None
    deadline_after: date | None = None
    overdue: bool | None = None
    to_fill: bool = False
    sort: str = "id"

    @property
    def needs_replay(self) -> bool:
        """Whether a filter or the order depends on what only the replay knows."""
        return bool(
            self.stages
            or self.share is not None
            or self.convention is not None
            or self.reserver is not None
            or self.landlord_part is not None
            or self.deadline_before is not None
            or self.deadline_after is not None
            or self.overdue is not None
            or self.to_fill
            or self.sort.lstrip("-") == "deadline"
        )


@dataclass(frozen=True)
class Page:
    items: list[Any]  # dicts; or `Listed` rows when the caller renders the descriptions
    total: int


@dataclass(frozen=True)
class Listed:
    """A row of a list as the caller rendered its description (remembered while nothing it
    depends on changes), and what changes with the day and the reader: the deadline fields and
    the dwelling's details."""

    rendered: Any
    today: dict[str, Any]


# The fields of a row that are not the vacancy's description (added per request).
TODAY_FIELDS = ("deadline", "days_left", "overdue", "dwelling_details")


def current_deadline(state: vacancies.Replayed) -> date | None:
    """The date the holder's candidates are due by, while they are awaited (None otherwise)."""
    cycle = state.lifecycle
    if cycle.held_by_landlord or cycle.closed:
        return None
    if cycle.stage is Stage.ORIENTED:
        return cycle.designation_deadline
    if cycle.stage is Stage.CAL_REFUSED:
        return cycle.redesignation_deadline
    return None


def list_vacancies(
    session: Session,
    actor: Actor,
    filters: VacancyFilters,
    *,
    offset: int,
    limit: int,
    today: date,
    compact: bool = False,
    render: Callable[[dict[str, Any]], Any] | None = None,
) -> Page:
    """One page of the vacancies the caller may see, with their stage, holder and deadline;
    `compact`: without the explanation's lines nor the journal entries of each.

    With `render` (a function of a description, e.g. the API's JSON writer), the rows are
    `Listed`: what `render` made of each description, remembered per process while the
    vacancy's entries, the labels it shows and the reader's view stay the same
    (`vacancy_memo`), and the fields of the day apart."""
    holders = _holder_shares(session, actor, filters)
    stmt = _candidates(session, actor, filters, holders)
    if not filters.needs_replay:
        ids, total = _page_ids(session, stmt, filters.sort, offset, limit)
        states = _replayed_known(session, ids)
        chosen = [states[i] for i in ids]
    else:
        ids = list(session.scalars(stmt))
        states = _replayed_known(session, ids)
        kept = [k for k in states.values() if _keep(k.state, filters, holders, today)]
        by = _sort_key(filters.sort)
        kept.sort(key=lambda k: by(k.state))
        total = len(kept)
        chosen = kept[offset : offset + limit]
    if render is None:
        return Page(_described(session, actor, [k.state for k in chosen], today, compact), total)
    return Page(_rendered(session, actor, chosen, today, compact, render), total)


def _page_ids(
    session: Session, stmt: sa.Select[Any], sort: str, offset: int, limit: int
) -> tuple[list[int], int]:
    """One page of ids in SQL order, with the total counted in the same statement."""
    descending = sort.startswith("-")
    columns = [JournalEntry.id]
    if sort.lstrip("-") == "available_on":
        columns.insert(0, JournalEntry.effective_date)
    order_by = [c.desc() if descending else c for c in columns]
    page = session.execute(
        stmt.add_columns(sa.func.count().over().label("total"))
        .order_by(*order_by)
        .offset(offset)
        .limit(limit)
    ).all()
    if page:
        return [row[0] for row in page], page[0].total
    # Past the last page: the window function has no row to ride on.
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    return [], total


def _candidates(
    session: Session, actor: Actor, filters: VacancyFilters, holders: set[int] | None
) -> sa.Select[Any]:
    """The vacancy ids the SQL-side filters leave (visibility, scope, dates, commune, holder's
    history)."""
    stmt = sa.select(JournalEntry.id).where(
        JournalEntry.kind == Kind.VACANCY_LOGGED, visible_vacancies(actor)
    )
    landlord = references.organisation_id(session, filters.landlord, "landlord")
    for value, column in (
        (landlord, JournalEntry.landlord_id),
        (filters.departement, JournalEntry.departement_code),
        (filters.dwelling, JournalEntry.dwelling_id),
        (filters.year, JournalEntry.period),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.available_from is not None:
        stmt = stmt.where(JournalEntry.effective_date >= filters.available_from)
    if filters.available_to is not None:
        stmt = stmt.where(JournalEntry.effective_date <= filters.available_to)
    if filters.commune is not None:
        stmt = stmt.where(
            JournalEntry.dwelling_id.in_(
                sa.select(Dwelling.id).where(Dwelling.commune_insee == filters.commune)
            )
        )
    if holders is not None:
        # A vacancy held by one of these shares was oriented or re-oriented to it at some
        # point: the replay then tells whether it still holds it.
        stmt = stmt.where(
            JournalEntry.id.in_(
                sa.select(JournalEntry.vacancy_id).where(
                    JournalEntry.kind.in_([Kind.ORIENTATION, Kind.OVERRIDE]),
                    JournalEntry.share_id.in_(holders),
                )
            )
        )
    return stmt


def _holder_shares(session: Session, actor: Actor, filters: VacancyFilters) -> set[int] | None:
    """The shares a holder filter (share, convention, reserver, to_fill) leaves; None when no
    such filter is given."""
    share = references.share_id(session, filters.share, "share")
    convention = references.convention_id(session, filters.convention, "convention")
    reserver = references.organisation_id(session, filters.reserver, "reserver")
    if filters.to_fill and actor.role is Role.RESERVER:
        reserver = actor.organisation_id if reserver is None else reserver
        if reserver != actor.organisation_id:
            return set()
    if share is None and convention is None and reserver is None:
        return None
    stmt = sa.select(Share.id).join(Convention, Share.convention_id == Convention.id)
    if share is not None:
        stmt = stmt.where(Share.id == share)
    if convention is not None:
        stmt = stmt.where(Convention.id == convention)
    if reserver is not None:
        stmt = stmt.where(Convention.reserver_id == reserver)
    return set(session.scalars(stmt))


def awaiting_candidates(session: Session) -> list[vacancies.Replayed]:
    """Every vacancy whose holder (a réservataire's share) still owes candidates: replayed
    together, in a fixed number of statements."""
    ever_held = sa.select(JournalEntry.vacancy_id).where(
        JournalEntry.kind.in_([Kind.ORIENTATION, Kind.OVERRIDE]),
        JournalEntry.share_id.is_not(None),
    )
    closed = sa.select(JournalEntry.vacancy_id).where(
        JournalEntry.kind.in_([Kind.LEASE, Kind.WITHDRAWAL, Kind.CARENCE, Kind.TAKE_BACK])
    )
    # A lease or withdrawal may have been corrected: those vacancies are replayed to be sure.
    corrected = sa.select(JournalEntry.vacancy_id).where(JournalEntry.kind == Kind.CORRECTION)
    ids = list(
        session.scalars(
            sa.select(JournalEntry.id).where(
                JournalEntry.kind == Kind.VACANCY_LOGGED,
                JournalEntry.id.in_(ever_held),
                sa.or_(JournalEntry.id.not_in(closed), JournalEntry.id.in_(corrected)),
            )
        )
    )
    states = _replayed(session, ids).values()
    return [s for s in states if current_deadline(s) is not None]


def _replayed(session: Session, ids: list[int]) -> dict[int, vacancies.Replayed]:
    """Each vacancy replayed from its entries, all read in one statement."""
    if not ids:
        return {}
    wanted = set(ids)
    by_vacancy: dict[int, list[JournalEntry]] = defaultdict(list)
    # Plain rows, not ORM objects: the replay reads attributes only, and building thousands of
    # tracked instances was most of a 500-row page's time.
    # Through the connection: the ORM's result layer adds nothing to plain column rows.
    rows = session.connection().execute(
        sa.select(*JournalEntry.__table__.columns)
        .where(sa.or_(JournalEntry.id.in_(wanted), JournalEntry.vacancy_id.in_(wanted)))
        .order_by(JournalEntry.id)
    )
    for entry in rows:
        by_vacancy[entry.vacancy_id if entry.vacancy_id in wanted else entry.id].append(entry)
    return {i: vacancies.replay(session, i, by_vacancy[i]) for i in ids}


def _replayed_known(session: Session, ids: list[int]) -> dict[int, vacancy_memo.Known]:
    """Each vacancy replayed, as remembered while its entries are the same; the others read in
    one statement and replayed."""
    prints = vacancy_memo.entries_prints(session, ids)
    out: dict[int, vacancy_memo.Known] = {}
    missing = []
    for i in ids:
        hit = vacancy_memo.replays.get(i)
        if hit is not None and hit.entries == prints[i]:
            out[i] = hit
        else:
            missing.append(i)
    for i, state in _replayed(session, missing).items():
        # Entries committed since the prints were read only make this one miss next time.
        out[i] = vacancy_memo.known(prints[i], state)
        vacancy_memo.replays.put(i, out[i])
    return {i: out[i] for i in ids}


def _keep(
    state: vacancies.Replayed, filters: VacancyFilters, holders: set[int] | None, today: date
) -> bool:
    if filters.stages and state.lifecycle.stage not in filters.stages:
        return False
    holder = state.holder
    if holders is not None and (holder in (None, LANDLORD) or int(holder) not in holders):
        return False
    if filters.landlord_part is not None and (holder == LANDLORD) != filters.landlord_part:
        return False
    deadline = current_deadline(state)
    if filters.to_fill and deadline is None:
        return False
    if filters.deadline_before is not None and (
        deadline is None or deadline > filters.deadline_before
    ):
        return False
    if filters.deadline_after is not None and (
        deadline is None or deadline < filters.deadline_after
    ):
        return False
    late = deadline is not None and deadline < today
    return filters.overdue is None or late == filters.overdue


def _sort_key(sort: str) -> Callable[[vacancies.Replayed], Any]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    sign = -1 if descending else 1

    def key(state: vacancies.Replayed) -> Any:
        if name == "deadline":
            deadline = current_deadline(state)
            # Vacancies without a deadline come last, whatever the direction.
            return (
                deadline is None,
                sign * (deadline.toordinal() if deadline else 0),
                state.logged.id,
            )
        if name == "available_on":
            return (sign * state.logged.effective_date.toordinal(), sign * state.logged.id)
        return sign * state.logged.id

    return key


def _described(
    session: Session,
    actor: Actor,
    states: list[vacancies.Replayed],
    today: date,
    compact: bool = False,
) -> list[dict[str, Any]]:
    share_ids: set[int] = set()
    for state in states:
        if state.orientation is not None:
            share_ids |= {
                int(line["share"])
                for line in state.orientation.payload["explanation"]
                if line["share"] != LANDLORD
            }
        if state.holder not in (None, LANDLORD):
            share_ids.add(int(state.holder))
    labels_on = scope_conventions.labels_loader(session, share_ids)
    items = []
    for state in states:
        body = vacancies.describe(
            session,
            state.logged.id,
            actor,
            state=state,
            labels=labels_on(state.logged.effective_date),
            compact=compact,
        )
        items.append({**body, **deadline_fields(state, today)})
    return with_dwelling_details(session, actor, items)


def _rendered(
    session: Session,
    actor: Actor,
    chosen: list[vacancy_memo.Known],
    today: date,
    compact: bool,
    render: Callable[[dict[str, Any]], Any],
) -> list[Listed]:
    """`_described`, rendered by the caller's function, each rendering remembered under
    everything the description depends on."""
    labels_on = scope_conventions.labels_loader(session, set().union(*(k.shares for k in chosen)))
    # A reserver sees its own shares' figures only: the same labels read differently.
    reader = actor.organisation_id if actor is not None and actor.role is Role.RESERVER else None
    label_prints = vacancy_memo.LabelPrints()
    rendered, facts = [], []
    for known in chosen:
        state = known.state
        labels = labels_on(state.logged.effective_date)
        key = (
            state.logged.id,
            known.entries,
            label_prints.of(labels, known.named),
            reader,
            compact,
            render,
        )
        hit = vacancy_memo.descriptions.get(key)
        if hit is None:
            body = vacancies.describe(
                session, state.logged.id, actor, state=state, labels=labels, compact=compact
            )
            hit = (render(body), {k: body[k] for k in _DETAILS_NEED})
            if known.shares <= labels.keys():  # else describe read labels of its own
                vacancy_memo.descriptions.put(key, hit)
        rendered.append(hit[0])
        facts.append({**hit[1], **deadline_fields(state, today)})
    with_dwelling_details(session, actor, facts)
    return [
        Listed(row, {k: item[k] for k in TODAY_FIELDS})
        for row, item in zip(rendered, facts, strict=True)
    ]


# What `with_dwelling_details` reads of a description.
_DETAILS_NEED = ("dwelling_id", "landlord_id", "holder", "stage")


def with_dwelling_details(
    session: Session, actor: Actor, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add what a réservataire needs to choose candidates (address, surface, rent, access,
    landlord contact) where the caller may see it: the landlord and an admin, and the
    réservataire whose share holds the vacancy now — no other one, nor past holders."""
    shown = [item for item in items if _sees_details(actor, item)]
    details = dwellings.details_of(session, {item["dwelling_id"] for item in shown})
    for item in items:
        item["dwelling_details"] = None
    for item in shown:
        item["dwelling_details"] = details.get(item["dwelling_id"])
    return items


def _sees_details(actor: Actor, item: dict[str, Any]) -> bool:
    if actor.is_admin:
        return True
    if actor.role is Role.LANDLORD:
        return item["landlord_id"] == actor.organisation_id
    if actor.role is Role.RESERVER:
        holder = item.get("holder") or {}
        awaited = item.get("stage") not in ("leased", "withdrawn", "deducted")
        return awaited and (holder.get("reserver") or {}).get("id") == actor.organisation_id
    return False


def deadline_fields(state: vacancies.Replayed, today: date) -> dict[str, Any]:
    """The deadline the holder works against now, the days it has left, and whether it is
    overdue (its candidates are late)."""
    deadline = current_deadline(state)
    return {
        "deadline": deadline,
        "days_left": None if deadline is None else (deadline - today).days,
        "overdue": deadline is not None and deadline < today,
    }


__all__ = [
    "SORTS",
    "TODAY_FIELDS",
    "Listed",
    "Page",
    "VacancyFilters",
    "current_deadline",
    "list_vacancies",
]
