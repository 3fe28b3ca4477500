"""What the pages read that the API's services do not offer as such: the signed-in user's own
account, and the desk of open vacancies (each with its stage, holder, deadline and days left).

Access is the policy module's (flux/services/access.py, through vacancy_events'
`visible_vacancies`): the pages never filter by role themselves.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from flux.domain import lifecycle, obligations
from flux.domain.allocation import LANDLORD
from flux.domain.lifecycle import Event, Stage
from flux.models import Commune, JournalEntry, Organisation
from flux.services import alerts, bilan_campaign, reports, scope_conventions, users, vacancies
from flux.services import balances as balance_service
from flux.services.access import Actor, require_admin
from flux.services.errors import Forbidden, InvalidInput
from flux.services.journal import Kind
from flux.services.vacancy_events import _check_actor as check_actor
from flux.services.vacancy_events import visible, visible_vacancies

_CLOSING_KINDS = (Kind.LEASE, Kind.WITHDRAWAL)
PAGE_SIZE = 25
# Stages where the holder's candidates are awaited (first designation, or after a CAL refusal).
AWAITING_CANDIDATES = (Stage.ORIENTED, Stage.CAL_REFUSED)

# The order the desk groups stages in: what waits on someone first.
STAGE_ORDER = (
    Stage.ORIENTED,
    Stage.CAL_REFUSED,
    Stage.DESIGNATED,
    Stage.TAKEN_BACK,
    Stage.ATTRIBUTED,
    Stage.HELD,
    Stage.DEDUCTED,
)


# --- the signed-in user's own account ------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    user_id: int
    email: str
    role: str
    organisation: str | None  # its name


def account(session: Session, actor: Actor) -> Account:
    """The caller's own account, as the pages' header shows it."""
    user = users.get_user(session, actor, actor.user_id or 0)
    org = user.organisation.name if user.organisation is not None else None
    return Account(user.id, user.email, str(user.role), org)


def change_own_password(session: Session, actor: Actor, current: str, new: str) -> None:
    """Change the caller's password after checking its current one; the caller commits."""
    user = users.get_user(session, actor, actor.user_id or 0)
    if not user.password_hash or not check_password_hash(user.password_hash, current):
        raise InvalidInput(
            "Mot de passe actuel incorrect.",
            errors={"form": {"current": ["Mot de passe actuel incorrect."]}},
        )
    users.set_password(session, user, new)


# --- the desk: open vacancies --------------------------------------------------------------------


@dataclass(frozen=True)
class DeskFilters:
    commune: str | None = None  # INSEE code
    reserver: int | None = None  # holder's reserver (organisation id)
    stage: str | None = None
    awaiting_me: bool = False  # a reserver's: oriented to its shares, waiting for its candidates
    page: int = 1


@dataclass(frozen=True)
class DeskRow:
    vacancy_id: int
    rpls_id: str
    commune: str
    commune_name: str
    available_on: date
    stage: str
    stage_label: str
    holder: str
    holder_reserver_id: int | None
    deadline: date | None
    days_left: int | None
    overdue: bool


@dataclass
class Desk:
    rows: list[DeskRow]
    total: int
    page: int
    pages: int
    communes: list[tuple[str, str]] = field(default_factory=list)  # (insee, name) to filter by
    reservers: list[tuple[int, str]] = field(default_factory=list)
    stages: list[tuple[str, str]] = field(default_factory=list)


def open_vacancies(session: Session, actor: Actor, filters: DeskFilters, today: date) -> Desk:
    """The caller's open vacancies (neither leased nor withdrawn), overdue first, then by
    deadline and date; each replayed from its journal entries, in a fixed number of queries."""
    grouped = _open_entries(session, actor)
    states = [vacancies.replay(session, vid, entries) for vid, entries in grouped.items()]
    states = [s for s in states if not s.lifecycle.closed]
    share_ids = {int(s.holder) for s in states if s.holder not in (None, LANDLORD)}
    labels = scope_conventions.share_labels(session, share_ids, today)
    names = dict(session.execute(sa.select(Commune.insee, Commune.name)).all())
    rows = [_row(s, labels, names, today) for s in states]
    if filters.awaiting_me:
        rows = [
            r
            for r, s in zip(rows, states, strict=True)
            if r.holder_reserver_id == actor.organisation_id
            and s.lifecycle.stage in AWAITING_CANDIDATES
        ]
    desk = Desk([], 0, 1, 1)
    desk.communes = sorted({(r.commune, r.commune_name) for r in rows}, key=lambda c: c[1])
    reservers = {r.holder_reserver_id: r.holder for r in rows if r.holder_reserver_id}
    desk.reservers = sorted(_reserver_names(session, set(reservers)).items(), key=lambda r: r[1])
    present = {r.stage for r in rows}
    desk.stages = [(str(s), lifecycle.STAGE_LABELS[s]) for s in STAGE_ORDER if s in present]
    if filters.commune:
        rows = [r for r in rows if r.commune == filters.commune]
    if filters.reserver:
        rows = [r for r in rows if r.holder_reserver_id == filters.reserver]
    if filters.stage:
        rows = [r for r in rows if r.stage == filters.stage]
    rows.sort(key=_urgency)
    desk.total = len(rows)
    desk.pages = max(1, -(-len(rows) // PAGE_SIZE))
    desk.page = min(max(1, filters.page), desk.pages)
    start = (desk.page - 1) * PAGE_SIZE
    desk.rows = rows[start : start + PAGE_SIZE]
    return desk


def _urgency(row: DeskRow) -> tuple[Any, ...]:
    stage_rank = next(i for i, s in enumerate(STAGE_ORDER) if str(s) == row.stage)
    deadline = row.deadline or date.max
    return (not row.overdue, deadline, stage_rank, row.available_on, row.vacancy_id)


def _row(
    state: vacancies.Replayed, labels: dict[int, dict], names: dict[str, str], today: date
) -> DeskRow:
    cycle = state.lifecycle
    deadline = None
    if cycle.stage is Stage.ORIENTED:
        deadline = cycle.designation_deadline
    elif cycle.stage is Stage.CAL_REFUSED:
        deadline = cycle.redesignation_deadline
    holder, reserver_id = "—", None
    if state.holder == LANDLORD:
        holder = "Part non réservée du bailleur"
    elif state.holder is not None:
        info = labels.get(int(state.holder), {})
        reserver = info.get("reserver") or {}
        reserver_id = reserver.get("id")
        holder = " — ".join(x for x in (reserver.get("name"), info.get("label")) if x)
    payload = state.logged.payload
    days_left = (deadline - today).days if deadline is not None else None
    return DeskRow(
        vacancy_id=state.logged.id,
        rpls_id=payload.get("rpls_id") or "",
        commune=payload.get("commune") or "",
        commune_name=names.get(payload.get("commune") or "", payload.get("commune") or ""),
        available_on=state.logged.effective_date,
        stage=str(cycle.stage),
        stage_label=lifecycle.STAGE_LABELS[cycle.stage],
        holder=holder or "—",
        holder_reserver_id=reserver_id,
        deadline=deadline,
        days_left=days_left,
        overdue=days_left is not None and days_left < 0,
    )


def _open_entries(session: Session, actor: Actor) -> dict[int, list[JournalEntry]]:
    """Every entry of the visible vacancies not closed by a lease or withdrawal (a corrected
    one is kept: its replay decides)."""
    closed = sa.select(JournalEntry.vacancy_id).where(JournalEntry.kind.in_(_CLOSING_KINDS))
    corrected = sa.select(JournalEntry.vacancy_id).where(JournalEntry.kind == Kind.CORRECTION)
    candidates = sa.select(JournalEntry.id).where(
        JournalEntry.kind == Kind.VACANCY_LOGGED,
        visible_vacancies(actor),
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
    return dict(grouped)


def _reserver_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return _organisation_names(session, set(ids))


# --- one vacancy, as its page shows it -----------------------------------------------------------

TIMELINE_LABELS = {
    Kind.VACANCY_LOGGED: "Logement libéré enregistré",
    Kind.ORIENTATION: "Orientation",
    Kind.OVERRIDE: "Réorientation par le bailleur",
    Kind.DESIGNATION: "Désignation de candidats",
    Kind.CAL_ATTRIBUTION: "Attribution en CALEOL",
    Kind.CAL_REFUSAL: "Refus de la CALEOL",
    Kind.CARENCE: "Carence du réservataire constatée",
    Kind.TAKE_BACK: "Reprise par le bailleur après refus",
    Kind.LEASE: "Bail signé",
    Kind.WITHDRAWAL: "Retrait du logement",
    Kind.CORRECTION: "Correction d'une écriture",
}


@dataclass(frozen=True)
class TimelineEntry:
    entry_id: int
    label: str
    on: date
    recorded_at: Any
    by: str
    details: str
    reversed: bool


def vacancy_page(session: Session, actor: Actor, vacancy_id: int, today: date) -> dict[str, Any]:
    """The vacancy as the API describes it (same access, same figures), with its journal as a
    French timeline naming who recorded each entry, the orientation in one sentence, the days
    left before its deadline, and the shares an override may choose."""
    visible_logged = visible(session, actor, vacancy_id)  # 404 for one it may not see
    state = vacancies.replay(session, visible_logged.id)
    described = vacancies.describe(session, vacancy_id, actor, state)
    shown = {e["id"] for e in described["events"]} | {visible_logged.id}
    entries = [e for e in state.entries if e.id in shown]
    orgs = _organisation_names(session, {e.actor_organisation_id for e in entries})
    timeline = [
        TimelineEntry(
            e.id,
            TIMELINE_LABELS.get(Kind(e.kind), e.kind),
            e.effective_date,
            e.recorded_at,
            orgs.get(e.actor_organisation_id, "Flux (chargement)")
            if e.actor_organisation_id
            else ("Administrateur" if e.actor_user_id else "Flux (chargement)"),
            _details(e.kind, e.payload),
            e.id in state.reversed_ids,
        )
        for e in entries
    ]
    deadline = described["designation_deadline"] or described["redesignation_deadline"]
    commune = described["dwelling"].get("commune") or ""
    return {
        **described,
        "commune_name": session.scalar(sa.select(Commune.name).where(Commune.insee == commune))
        or commune,
        "recordable": _recordable(session, actor, state, described["allowed_events"]),
        "timeline": timeline,
        "sentence": orientation_sentence(described),
        "deadline": deadline,
        "days_left": (deadline - today).days if deadline else None,
        "override_choices": [
            (str(line["share"]), _share_name(line))
            for line in (described["orientation"] or {}).get("explanation", [])
            if str(line["share"]) != str(described["orientation"]["chosen"])
        ]
        if described["orientation"]
        else [],
    }


def _recordable(
    session: Session, actor: Actor, state: vacancies.Replayed, allowed: list[str]
) -> list[str]:
    """The allowed events this caller may record (the service's own check, event by event)."""
    if not actor.can_write:
        return []
    result = []
    for kind in allowed:
        try:
            check_actor(session, actor, state, Event(kind))
        except Forbidden:
            continue
        result.append(kind)
    return result


def _share_name(line: dict[str, Any]) -> str:
    if line.get("landlord_part"):
        return "Part non réservée du bailleur"
    reserver = (line.get("reserver") or {}).get("name")
    return " — ".join(x for x in (reserver, line.get("label")) if x) or f"Part {line['share']}"


def orientation_sentence(described: dict[str, Any]) -> str:
    """Where the vacancy went and why, in one French sentence, from the orientation's own
    figures (as recorded when it was decided)."""
    if described["deduction"]:
        return (
            "Ce logement est soustrait du flux : il ne compte pour aucun réservataire et n'est "
            "orienté vers personne."
        )
    orientation = described["orientation"]
    if orientation is None and described.get("held"):
        return described["held"]["message"]
    if orientation is None:
        return "Ce logement n'a pas d'orientation."
    lines = orientation["explanation"]
    chosen = next((ln for ln in lines if ln["chosen"]), None)
    proposed = next((ln for ln in lines if str(ln["share"]) == str(orientation["proposed"])), None)
    if chosen is None:
        return "Ce logement est orienté vers une part que vous ne voyez pas."
    name = _share_name(chosen)
    if chosen.get("landlord_part"):
        name = "la part non réservée du bailleur"
    why = (
        f"c'est la part éligible la plus en retard sur son dû : objectif "
        f"{_fr(chosen['target_dwellings'])} logement(s) en comptant celui-ci, réalisé "
        f"{chosen['realised']} avant lui, soit un retard de {_fr(chosen['deficit_dwellings'])} "
        "logement(s)"
    )
    if orientation["override"]:
        other = _share_name(proposed) if proposed else "une autre part"
        return (
            f"Ce logement est orienté vers {name}, par dérogation à la proposition de Flux "
            f"({other}), pour le motif : « {orientation['reason']} »."
        )
    overrides = [e for e in described["events"] if e["type"] == Kind.OVERRIDE and not e["reversed"]]
    if overrides:
        holder = described["holder"] or {}
        to = (
            "la part non réservée du bailleur"
            if holder.get("landlord_part")
            else " — ".join(
                x for x in ((holder.get("reserver") or {}).get("name"), holder.get("label")) if x
            )
        )
        return (
            f"Ce logement a été réorienté vers {to} par dérogation à la proposition de Flux "
            f"({name}), pour le motif : « {overrides[-1]['details'].get('reason')} »."
        )
    sub = [s for s in chosen.get("sub_deficits") or [] if s.get("key")]
    sub_text = ""
    if sub:
        what = "cette commune" if str(sub[0]["key"]).startswith("commune:") else "ce critère"
        sub_text = f" ; son objectif propre à {what} entre aussi en compte"
    return f"Ce logement est orienté vers {name} : {why}{sub_text}."


def _fr(figure: str) -> str:
    return figure.replace("-", "−").replace(".", ",")


def _details(kind: str, payload: dict[str, Any]) -> str:
    if kind == Kind.DESIGNATION:
        dalo = " (désignation DALO)" if payload.get("dalo") else ""
        return f"{payload.get('candidates')} candidat(s) proposé(s){dalo}"
    if kind == Kind.CAL_ATTRIBUTION:
        household = payload.get("household") or {}
        traits = [
            label
            for key, label in (
                ("dalo", "DALO"),
                ("prioritaire", "prioritaire"),
                ("first_quartile", "premier quartile"),
            )
            if household.get(key)
        ]
        return f"candidat de rang {payload.get('rank')}" + (
            f" — ménage {', '.join(traits)}" if traits else ""
        )
    if kind in (Kind.CARENCE, Kind.TAKE_BACK):
        return "compte pour le réservataire" if payload.get("counted") else "ne compte pas"
    if kind in (Kind.WITHDRAWAL, Kind.OVERRIDE, Kind.CORRECTION):
        return f"motif : {payload.get('reason')}" if payload.get("reason") else ""
    if kind == Kind.VACANCY_LOGGED:
        letting = (
            "première mise en location"
            if payload.get("letting") == "first_letting"
            else "relocation"
        )
        deduction = " — soustrait du flux" if payload.get("deduction") else ""
        return f"{letting}{deduction}"
    return ""


def _organisation_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(
            sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))
        ).all()
    )


# --- a reserver's rights -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rights:
    as_of: date
    rows: list[dict[str, Any]]  # `balances.balances` rows (each names its landlord)
    # `balances.totals`' per-réservataire sums: counted, target, completion rate (empty unless
    # asked for).
    totals: list[dict[str, Any]]


def rights(session: Session, actor: Actor, as_of: date, with_totals: bool = True) -> Rights:
    """The caller's shares' balances as of a date (`balances.balances`: same figures, same
    access, as GET /balances), and the overall figures of each
    réservataire (`balances.totals`, as GET /balances/totals: counted per each convention's
    counting event over the target with its carry-in). Nothing is computed here."""
    query = balance_service.BalanceQuery(as_of=as_of)
    rows = balance_service.balances(session, actor, query)
    return Rights(as_of, rows, _reserver_totals(rows) if with_totals else [])


def _reserver_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`balances.totals(...)["reservers"]` from the rows already read: the same grouping and the
    balances service's own sum (`balances._sum`), without folding every scope a second time
    (tests/web/test_desk.py checks both give the same)."""
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if not row["landlord_part"]:
            groups[row["reserver"]["id"]].append(row)
    return [
        {"reserver": group[0]["reserver"], **balance_service._sum(group)}
        for group in groups.values()
    ]


def monthly(
    session: Session, actor: Actor, year: int, today: date, share: int | None = None
) -> list[dict[str, Any]]:
    """Each of the caller's shares' monthly cumulative series (`balances.monthly_balances`:
    same figures, same access), with its landlord's name.

    The series folds every scope once per month end, which costs about a second on the demo:
    the result is kept, per caller and question, for as long as neither the journal nor a
    convention changes (the page and its charts ask the same question).
    """
    key = (
        str(session.get_bind().url),
        actor.role,
        actor.organisation_id,
        actor.departement,
        year,
        today,
        share,
        _book_fingerprint(session),
    )
    with _series_lock:
        cached = _series.get(key)
    if cached is not None:
        return cached
    rows = balance_service.monthly_balances(
        session, actor, balance_service.SeriesQuery(year=year, share=share), today
    )
    names = _organisation_names(session, {r["landlord_id"] for r in rows})
    result = [{**r, "landlord_name": names.get(r["landlord_id"], "")} for r in rows]
    if share is None:
        # The page's rows also answer each chart's question (a share of the same caller).
        for row in result:
            sub = (*key[:6], row["share_id"], key[7])
            with _series_lock:
                _series[sub] = [row]
    with _series_lock:
        _series[key] = result
        while len(_series) > _SERIES_KEPT:
            _series.pop(next(iter(_series)))
    return result


_series: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
_series_lock = threading.Lock()
_SERIES_KEPT = 256


def _book_fingerprint(session: Session) -> tuple[Any, ...]:
    """What the series depend on: the journal (append-only: its size and last id) and the
    conventions (each write bumps a revision or adds a version)."""
    from flux.models import Convention, ConventionVersion

    journal = session.execute(
        sa.select(sa.func.count(JournalEntry.id), sa.func.max(JournalEntry.id))
    ).one()
    conventions = session.execute(
        sa.select(
            sa.select(sa.func.count(Convention.id)).scalar_subquery(),
            sa.select(sa.func.sum(Convention.revision)).scalar_subquery(),
            sa.select(sa.func.max(ConventionVersion.id)).scalar_subquery(),
        )
    ).one()
    return (*journal, *conventions)


def clear_series_cache() -> None:
    """Forget the kept series (tests whose databases reuse ids)."""
    with _series_lock:
        _series.clear()


# --- the prefecture's console --------------------------------------------------------------------


@dataclass(frozen=True)
class Console:
    year: int
    columns: list[tuple[str, str, str]]  # the checks' (key, French label, kind)
    checks: list[dict[str, Any]]  # per landlord, each obligation but the per-commune rows
    by_commune: list[dict[str, Any]]  # the État's uniform share, commune by commune
    breached: int
    alerts: list[Any]
    campaign: list[dict[str, Any]]
    campaign_deadline: date | None


def console(session: Session, actor: Actor, year: int, today: date) -> Console:
    """The prefecture's console of a year: the obligation checks of the bilan annuel (the same
    report as the downloads, so the same figures; breaches first), the open alerts, the bilan
    campaign."""
    report = reports.annual(session, actor, reports.ReportQuery(year=year), today)
    part = report.part("checks")
    rows = part.frame.to_dict("records")
    rows.sort(key=lambda r: r["status"] != obligations.Status.FAILED)  # breaches first
    by_commune = [r for r in rows if r["code"] == obligations.Code.ETAT_UNIFORM_BY_COMMUNE]
    others = [r for r in rows if r["code"] != obligations.Code.ETAT_UNIFORM_BY_COMMUNE]
    failed = obligations.STATUS_LABELS[obligations.Status.FAILED]
    campaign = bilan_campaign.status(session, actor, year)
    return Console(
        year=year,
        columns=[(c.key, c.label, c.kind) for c in part.columns],
        checks=others,
        by_commune=by_commune,
        breached=sum(1 for r in rows if r["status"] in (failed, obligations.Status.FAILED)),
        alerts=list(session.scalars(alerts.listing(session, actor).limit(100))),
        campaign=campaign,
        campaign_deadline=campaign[0]["deadline"] if campaign else None,
    )


# --- administration of users ---------------------------------------------------------------------


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> None:
    """An administrator gives a user a new password; the caller commits."""
    require_admin(actor)
    users.set_password(session, users.get_user(session, actor, user_id), password)


def revoke_tokens(session: Session, actor: Actor, user_id: int) -> int:
    """An administrator revokes every live token of a user (its page sessions too)."""
    require_admin(actor)
    return users.revoke_all(session, users.get_user(session, actor, user_id).email)


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> None:
    """Deactivate (every token refused from now on) or reactivate a user; never oneself."""
    require_admin(actor)
    user = users.get_user(session, actor, user_id)
    if user.id == actor.user_id and not active:
        raise InvalidInput("Vous ne pouvez pas désactiver votre propre compte.")
    user.active = active
    session.flush()


def organisation_list(session: Session) -> list[Organisation]:
    """Every organisation (the API's /organisations lists them to any signed-in caller)."""
    return list(
        session.scalars(sa.select(Organisation).order_by(Organisation.kind, Organisation.name))
    )


# --- the État's conventions, for its prefecture ------------------------------------------------


def etat_conventions(session: Session, actor: Actor) -> list[Any]:
    """The conventions of the caller's own organisation among those it sees (the prefecture's:
    the État's of its département); each with its versions, as `conventions.query_visible`."""
    from flux.models import Convention
    from flux.services import conventions

    stmt = conventions.query_visible(actor).where(Convention.reserver_id == actor.organisation_id)
    return list(session.scalars(stmt))


def landlords(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every landlord, for choosing one in a form."""
    return [
        (code, name)
        for code, name in session.execute(
            sa.select(Organisation.code, Organisation.name)
            .where(Organisation.kind == "landlord")
            .order_by(Organisation.name)
        )
    ]
