"""Logging a freed dwelling, orienting it in turn, and following it to the lease.

Every fact is a journal entry; a vacancy's stage and holder are replayed from its entries.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import allocation, lifecycle, orientation_summary, reconciliation
from flux.domain.allocation import LANDLORD, Decision, EligibleShare, Rule, ShareRef
from flux.domain.conventions import format_dwellings, format_percent
from flux.domain.eligibility import VacancyFacts, eligible_shares
from flux.domain.lifecycle import Event, Lifecycle, Stage
from flux.domain.reference import OUT_OF_FLUX_LABELS, Letting, Role
from flux.models import Commune, Dwelling, JournalEntry, Organisation
from flux.services import (
    allocation_book,
    held_vacancies,
    journal,
    notifications,
    scope_conventions,
)
from flux.services.access import (
    Actor,
    dwelling_visibility,
    dwelling_visibility_clause,
    require_writer,
)
from flux.services.allocation_book import (
    Scope,
    eligible_to_payload,
    share_ref,
)
from flux.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from flux.services.journal import Kind

# Journal kinds that are lifecycle events of a vacancy, and the event each one is.
EVENT_KINDS = {Kind(event.value): event for event in Event}


@dataclass(frozen=True)
class NewVacancy:
    available_on: date
    dwelling_id: int | None = None
    rpls_id: str | None = None
    landlord: int | str | None = None  # with rpls_id, for an admin
    letting: Letting = Letting.RELETTING
    deduction: str | None = None
    orient_to: ShareRef | None = None  # an override at logging time
    reason: str | None = None
    idempotency_key: str | None = None
    notified_on: date | None = None  # the day the holder was told (default: the logging day)


@dataclass(frozen=True)
class Logged:
    vacancy_id: int
    created: bool  # False when an earlier identical request is returned (idempotency)
    # A new vacancy as the transaction that logged it holds it, to answer without reading back.
    state: Replayed | None = None
    labels: dict[int, dict] | None = None


# --- logging -------------------------------------------------------------------------------


def log_vacancy(
    session: Session, actor: Actor, data: NewVacancy, today: date | None = None
) -> Logged:
    """Log a vacancy and orient it to the share furthest behind its due (or deduct it).

    One statement before the scope lock reads the dwelling, the scope's marks, its
    conventions' fingerprint and the dwelling's vacancies. Under the lock, they stand if the
    scope's marks have not moved: every write that changes them (a vacancy, an event, new
    terms) appends to the scope's journal, which moves its version. Else they are read again
    under the lock. The lock is held for the catch-up, the decision and the writes only.
    """
    dwelling = _dwelling_for_write(session, actor, data)  # 404 first: one it may not see
    require_writer(actor)
    scope = Scope(dwelling.landlord_id, dwelling.departement_code)
    facts = _facts(dwelling, data)
    rule = allocation_book.lock(session, scope)
    if allocation_book.locked_marks(session, scope) == (dwelling.version, dwelling.generation):
        conventions = scope_conventions.load_with(
            session, scope.landlord_id, scope.departement, _fingerprint_of(dwelling)
        )
        history = _history_read(session, dwelling, data)
    else:  # the scope moved between the two statements: read under the lock
        conventions = scope_conventions.load(session, scope.landlord_id, scope.departement)
        history = _History.of(_logged_of(session, dwelling), data.available_on)
    replays: dict[int, Replayed] = {}
    # A replay returns the first response, whatever became of the dwelling since.
    earlier = _earlier_request(session, dwelling, data, history, replays)
    if earlier is not None:
        return Logged(earlier, created=False)
    _check_loggable(session, dwelling, data, today, history, replays)
    closed = allocation_book.closed_years(session, scope, rule)
    reconciliation.check_open(data.available_on, closed)
    eligible = eligible_shares(conventions.views, facts)
    # Previous year not closed yet: logged now, oriented at its close (held_vacancies).
    held = held_vacancies.must_wait_for(session, scope, rule, closed, data)
    decision = vacancy = None
    if data.deduction is None and held is None:
        # Decide before writing anything: a refusal must leave no trace in the journal.
        vacancy = allocation.Vacancy(None, eligible)
        decision = _decide(session, scope, rule, data, vacancy)
    logged = _append_logged(session, actor, scope, dwelling, data, eligible, held)
    if isinstance(logged, int):  # the same key won a race from another scope: a replay
        return Logged(logged, created=False)
    entries = [logged]
    if decision is not None:
        # Late logging: the designation delay runs from the day the holder is told.
        told = max(data.available_on, data.notified_on or today or clock.today())
        data = dataclasses.replace(data, notified_on=told)
        entries.append(_orient(session, actor, logged, vacancy, decision, conventions, data))
    allocation_book.record(session, scope, entries)
    shares = _shares_named(entries)
    return Logged(
        logged.id,
        created=True,
        state=replay(session, logged.id, entries),
        labels=conventions.share_labels(shares, logged.effective_date),
    )


def refuse_if_sold(rpls_id: str, sold_on: date | None, available_on: date) -> None:
    """An RPLS id belongs to one landlord at a time: after its sale, the dwelling's vacancies
    are the buyer's to log (one freed before the sale stays the seller's)."""
    if sold_on is not None and available_on >= sold_on:
        raise Conflict(
            f"Le logement {rpls_id} a été cédé le {sold_on:%d/%m/%Y} : ses libérations à "
            "partir de cette date sont enregistrées par le bailleur qui l'a acquis.",
            errors={"json": {"available_on": [f"Logement cédé le {sold_on:%d/%m/%Y}."]}},
            extra={"rule": "dwelling_sold", "sold_on": sold_on.isoformat()},
        )


def _facts(dwelling: Any, data: NewVacancy) -> VacancyFacts:
    return VacancyFacts(
        data.available_on,
        dwelling.commune_insee,
        dwelling.typology,
        dwelling.qpv_code is not None,
        data.letting is Letting.FIRST_LETTING,
    )


def _check_loggable(
    session: Session,
    dwelling: Any,
    data: NewVacancy,
    today: date | None,
    history: _History,
    replays: dict[int, Replayed],
) -> None:
    if dwelling.out_of_flux is not None:
        raise InvalidInput(
            f"Le logement {dwelling.rpls_id} est hors du flux "
            f"({OUT_OF_FLUX_LABELS[dwelling.out_of_flux]}) : il ne s'oriente pas.",
            errors={"json": {"dwelling": ["Logement hors du flux."]}},
            extra={"out_of_flux": str(dwelling.out_of_flux)},
        )
    refuse_if_sold(dwelling.rpls_id, dwelling.sold_on, data.available_on)
    _refuse_if_open(session, dwelling, history, replays)
    lifecycle.check_available_on(data.available_on, today or clock.today())


def _decide(
    session: Session, scope: Scope, rule: Rule, data: NewVacancy, vacancy: allocation.Vacancy
) -> Decision:
    book = allocation_book.load(session, scope, data.available_on.year, rule)
    try:
        decision = allocation.propose(book.state, vacancy)
    except allocation.RuleNotApplicable as error:
        raise Conflict(str(error), extra={"rule": str(rule.value)}) from error
    chosen = decision.chosen if data.orient_to is None else data.orient_to
    if chosen != decision.chosen:
        _check_override(vacancy, chosen, data.reason)
    return decision


def _append_logged(
    session: Session,
    actor: Actor,
    scope: Scope,
    dwelling: Any,
    data: NewVacancy,
    eligible: list[EligibleShare],
    held: int | None = None,
) -> JournalEntry | int:
    """The vacancy_logged entry; or, when its idempotency key lost a race, the winner's id."""

    def append() -> JournalEntry:
        return journal.insert(
            session,
            actor,
            Kind.VACANCY_LOGGED,
            data.available_on,
            landlord_id=scope.landlord_id,
            departement_code=scope.departement,
            dwelling_id=dwelling.id,
            period=data.available_on.year,
            idempotency_key=data.idempotency_key,
            payload={
                "letting": str(data.letting),
                "deduction": data.deduction,
                "eligible": eligible_to_payload(eligible),
                **_snapshot(dwelling),
                **held_vacancies.payload(held),
            },
        )

    if not data.idempotency_key:
        return append()  # nothing unique to collide on: no savepoint needed
    try:
        with session.begin_nested():
            return append()
    except sa.exc.IntegrityError:
        # The same key, sent at the same moment for a dwelling of another département (another
        # scope, so another lock): the first request won; answer as a replay would.
        earlier = _earlier_request(session, dwelling, data)
        if earlier is None:
            raise
        return earlier


def _shares_named(entries: list[JournalEntry]) -> set[int]:
    """The shares an answer names: the explanation's participants."""
    if len(entries) < 2:
        return set()
    return {
        int(line["share"])
        for line in entries[1].payload["explanation"]
        if line["share"] != LANDLORD
    }


def _orient(
    session: Session,
    actor: Actor,
    logged: JournalEntry,
    vacancy: allocation.Vacancy,
    decision: Decision,
    conventions: scope_conventions.ScopeConventions,
    data: NewVacancy,
) -> JournalEntry:
    chosen = decision.chosen if data.orient_to is None else data.orient_to
    override = chosen != decision.chosen
    policies = policies_for(conventions, chosen, logged.effective_date)
    entry = journal.insert(
        session,
        actor,
        Kind.ORIENTATION,
        logged.effective_date,
        landlord_id=logged.landlord_id,
        departement_code=logged.departement_code,
        dwelling_id=logged.dwelling_id,
        vacancy_id=logged.id,
        period=logged.period,
        share_id=None if chosen == LANDLORD else chosen,
        convention_id=policies.pop("convention_id"),
        payload={
            "chosen": chosen,
            "proposed": decision.chosen,
            "override": override,
            "reason": data.reason if override else None,
            "rule": decision.rule_name,
            "rule_version": decision.rule_version,
            "explanation": decision.explanation_payload(),
            "notified_on": data.notified_on.isoformat() if data.notified_on else None,
            **policies,
        },
    )
    # The réservataire is told (the outbox), its share's label taken from the conventions.
    notifications.for_entries(session, [entry], conventions.share_label)
    return entry


orientation_entry = _orient  # the close orients held vacancies with it


def _check_override(vacancy: allocation.Vacancy, chosen: ShareRef, reason: str | None) -> None:
    try:
        vacancy.keys_of(chosen)
    except allocation.NotEligible as error:
        raise InvalidInput(
            f"La part {chosen} n'est pas éligible pour ce logement : orientation impossible.",
            errors={"json": {"orient_to": ["Part non éligible pour ce logement."]}},
        ) from error
    if not (reason or "").strip():
        raise InvalidInput(
            "Une orientation différente de la proposition exige un motif.",
            errors={"json": {"reason": ["Motif obligatoire pour déroger à la proposition."]}},
        )


def policies_for(
    conventions: scope_conventions.ScopeConventions, holder: ShareRef, on: date
) -> dict[str, Any]:
    """The holder's convention policies, recorded with the orientation (replay needs them)."""
    if holder == LANDLORD:
        return {
            "convention_id": None,
            "deadline_days": None,
            "refusal_delay_days": 15,
            "candidates_required": 1,
            "carence_counts": True,
            "cal_refusal_counts": True,
        }
    version = conventions.version_for_share(int(holder), on)
    return {
        "convention_id": version.convention_id,
        "deadline_days": version.designation_deadline_days,
        "refusal_delay_days": version.cal_refusal_delay_days,
        "candidates_required": version.candidates_per_designation,
        "carence_counts": version.carence_counts,
        "cal_refusal_counts": version.cal_refusal_counts,
    }


def _snapshot(dwelling: Any) -> dict[str, Any]:
    """The dwelling as it was when it became free (reports must not move if it is edited)."""
    return {
        "rpls_id": dwelling.rpls_id,
        "commune": dwelling.commune_insee,
        "qpv": dwelling.qpv_code,
        "typology": str(dwelling.typology),
        "financing": str(dwelling.financing),
        "construction_year": dwelling.construction_year,
    }


_DWELLINGS = Dwelling.__table__
_COMMUNES = Commune.__table__
_JOURNAL = JournalEntry.__table__
_SCOPES = allocation_book.SCOPES_TABLE


@functools.cache
def _dwelling_statement(visibility: str, by: str, landlord: str | None) -> sa.Select[Any]:
    """What a decision needs to read before the lock, in one statement built once per shape
    (the caller's visibility, the dwelling ``by`` id or RPLS id, and how a ``landlord`` is
    named), values bound: the dwelling's columns and département, the scope's marks, its
    conventions' fingerprint, the dwelling's last vacancy and how many it has on the day."""
    dwellings, departement = _DWELLINGS.c, _COMMUNES.c.departement_code
    scope = sa.and_(
        _SCOPES.c.landlord_id == dwellings.landlord_id, _SCOPES.c.departement_code == departement
    )
    vacancies = sa.and_(
        _JOURNAL.c.dwelling_id == dwellings.id, _JOURNAL.c.kind == str(Kind.VACANCY_LOGGED)
    )
    stmt = sa.select(
        *(
            dwellings[name]
            for name in (
                "id",
                "landlord_id",
                "rpls_id",
                "commune_insee",
                "qpv_code",
                "typology",
                "financing",
                "construction_year",
                "out_of_flux",
                "sold_on",
            )
        ),
        departement,
        sa.select(_SCOPES.c.version).where(scope).scalar_subquery().label("version"),
        sa.select(_SCOPES.c.generation).where(scope).scalar_subquery().label("generation"),
        *scope_conventions.fingerprint_columns(dwellings.landlord_id, departement),
        sa.select(sa.func.max(_JOURNAL.c.id)).where(vacancies).scalar_subquery().label("last"),
        sa.select(sa.func.count(_JOURNAL.c.id))
        .where(vacancies, _JOURNAL.c.effective_date == sa.bindparam("on", type_=sa.Date))
        .scalar_subquery()
        .label("same_day"),
    ).join_from(_DWELLINGS, _COMMUNES, dwellings.commune_insee == _COMMUNES.c.insee)
    stmt = stmt.where(dwelling_visibility_clause(visibility))
    if by == "id":
        return stmt.where(dwellings.id == sa.bindparam("dwelling"))
    stmt = stmt.where(dwellings.rpls_id == sa.bindparam("rpls_id"))
    if landlord == "id":
        return stmt.where(dwellings.landlord_id == sa.bindparam("landlord"))
    if landlord == "code":
        organisations = Organisation.__table__.c
        named = sa.select(organisations.id).where(organisations.code == sa.bindparam("landlord"))
        return stmt.where(dwellings.landlord_id.in_(named))
    return stmt


def _fingerprint_of(dwelling: sa.Row[Any]) -> list[Any]:
    mapping = dwelling._mapping
    return [mapping[key] for key in mapping if key.startswith("fp")]


@dataclass(frozen=True)
class _History:
    """A dwelling's vacancies as the checks need them: its last, and those of the day."""

    last: int | None
    same_day: list[int]

    @classmethod
    def of(cls, logged: list[tuple[int, date]], on: date) -> _History:
        return cls(logged[-1][0] if logged else None, [vid for vid, day in logged if day == on])


def _history_read(session: Session, dwelling: sa.Row[Any], data: NewVacancy) -> _History:
    """From the statement before the lock; the full list only when the day already has one
    (a retry, or a vacancy logged again after a withdrawal)."""
    if dwelling.same_day:
        return _History.of(_logged_of(session, dwelling), data.available_on)
    return _History(dwelling.last, [])


def _dwelling_for_write(session: Session, actor: Actor, data: NewVacancy) -> sa.Row[Any]:
    """The dwelling (its columns and ``departement_code``), if the caller may log it."""
    visibility, params = dwelling_visibility(actor)
    params["on"] = data.available_on
    if data.dwelling_id is not None:
        by, landlord = "id", None
        params["dwelling"] = data.dwelling_id
    else:
        by, params["rpls_id"] = "rpls", data.rpls_id
        # A landlord sees only its own stock (the visibility rule): no landlord to name.
        if actor.role is not Role.LANDLORD and data.landlord is not None:
            landlord = "id" if isinstance(data.landlord, int) else "code"
            params["landlord"] = data.landlord
        else:
            landlord = None
    stmt = _dwelling_statement(visibility, by, landlord)
    found = session.connection().execute(stmt, params).all()
    if not found:
        message = "Logement introuvable (aucun logement visible pour cette référence)."
        field = "dwelling" if data.dwelling_id is not None else "rpls_id"
        raise NotFound(message, errors={"json": {field: [message]}})
    if len(found) > 1:
        raise InvalidInput(
            f"Le numéro RPLS {data.rpls_id} désigne des logements de plusieurs bailleurs : "
            "précisez le bailleur.",
            errors={"json": {"landlord": ["Bailleur requis pour ce numéro RPLS."]}},
        )
    dwelling = found[0]
    if not actor.is_admin and not (
        actor.role is Role.LANDLORD and actor.organisation_id == dwelling.landlord_id
    ):
        raise Forbidden("Seul le bailleur du logement peut enregistrer sa libération.")
    return dwelling


_LOGGED_OF = (
    sa.select(_JOURNAL.c.id, _JOURNAL.c.effective_date)
    .where(
        _JOURNAL.c.kind == str(Kind.VACANCY_LOGGED),
        _JOURNAL.c.dwelling_id == sa.bindparam("dwelling"),
    )
    .order_by(_JOURNAL.c.id)
)


def _logged_of(session: Session, dwelling: Any) -> list[tuple[int, date]]:
    """The dwelling's vacancies (id, date), oldest first: one read for both checks below."""
    rows = session.connection().execute(_LOGGED_OF, {"dwelling": dwelling.id})
    return [(row.id, row.effective_date) for row in rows]


def _earlier_request(
    session: Session,
    dwelling: Any,
    data: NewVacancy,
    history: _History | None = None,
    replays: dict[int, Replayed] | None = None,
) -> int | None:
    """The vacancy an identical earlier request logged (same key, or same dwelling and date)."""
    if data.idempotency_key:
        earlier = session.scalar(
            sa.select(JournalEntry).where(
                JournalEntry.kind == Kind.VACANCY_LOGGED,
                JournalEntry.landlord_id == dwelling.landlord_id,
                JournalEntry.idempotency_key == data.idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.dwelling_id != dwelling.id or earlier.effective_date != data.available_on:
                raise Conflict(
                    "Cette clé d'idempotence a déjà servi pour une autre libération.",
                    errors={"headers": {"Idempotency-Key": ["Clé déjà utilisée."]}},
                )
            return earlier.id
    if history is None:
        history = _History.of(_logged_of(session, dwelling), data.available_on)
    # A withdrawn vacancy does not stand for a new request: it may be logged again, corrected.
    live = [
        v
        for v in history.same_day
        if _replayed(session, v, replays).lifecycle.stage is not Stage.WITHDRAWN
    ]
    return live[0] if live else None


def _replayed(session: Session, vacancy_id: int, replays: dict[int, Replayed] | None) -> Replayed:
    if replays is None:
        return replay(session, vacancy_id)
    if vacancy_id not in replays:
        replays[vacancy_id] = replay(session, vacancy_id)
    return replays[vacancy_id]


def _refuse_if_open(
    session: Session,
    dwelling: Any,
    history: _History,
    replays: dict[int, Replayed],
) -> None:
    last = history.last
    if last is not None:
        state = _replayed(session, last, replays)
        if not state.lifecycle.closed:
            raise Conflict(
                f"Le logement {dwelling.rpls_id} a déjà une libération en cours (n° {last}, "
                f"étape « {lifecycle.STAGE_LABELS[state.lifecycle.stage]} ») : "
                "clôturez-la (bail, retrait) avant d'en enregistrer une autre.",
                extra={"open_vacancy": last},
            )


# --- replay --------------------------------------------------------------------------------


@dataclass
class Replayed:
    """A vacancy as its journal entries make it now."""

    logged: JournalEntry
    orientation: JournalEntry | None
    entries: list[JournalEntry]
    reversed_ids: set[int]
    lifecycle: Lifecycle
    holder: ShareRef | None
    policies: dict[str, Any]


def entries_of(session: Session, vacancy_id: int) -> list[JournalEntry]:
    return list(
        session.scalars(
            sa.select(JournalEntry)
            .where(sa.or_(JournalEntry.id == vacancy_id, JournalEntry.vacancy_id == vacancy_id))
            .order_by(JournalEntry.id)
        )
    )


def replay(
    session: Session, vacancy_id: int, entries: list[JournalEntry] | None = None
) -> Replayed:
    entries = entries if entries is not None else entries_of(session, vacancy_id)
    if not entries or entries[0].kind != Kind.VACANCY_LOGGED:
        raise NotFound(f"Libération {vacancy_id} introuvable.")
    logged = entries[0]
    orientation = next((e for e in entries if e.kind == Kind.ORIENTATION), None)
    policies = dict(orientation.payload) if orientation else {}
    holder = share_ref(policies["chosen"]) if orientation else None
    held = orientation is None and held_vacancies.waiting_for(logged.payload) is not None
    state = lifecycle.start(
        logged.effective_date,
        deducted=orientation is None and not held,
        held_by_landlord=holder == LANDLORD,
        deadline_days=policies.get("deadline_days") or 0,
        refusal_delay_days=policies.get("refusal_delay_days") or 15,
        notified_on=notified_on_of(policies),
        held=held,
    )
    reversed_ids = {e.reverses_id for e in entries if e.kind == Kind.CORRECTION}
    for entry in entries:
        if entry.kind not in EVENT_KINDS or entry.id in reversed_ids:
            continue
        state = lifecycle.advance(state, EVENT_KINDS[entry.kind], entry.effective_date)
        if entry.kind == Kind.OVERRIDE:
            holder = share_ref(entry.payload["to"])
            policies.update(entry.payload)
            state = lifecycle.reoriented(
                state,
                to_landlord=holder == LANDLORD,
                deadline_days=entry.payload.get("deadline_days") or 0,
                refusal_delay_days=entry.payload.get("refusal_delay_days") or 15,
            )
        elif entry.kind == Kind.WITHDRAWAL:
            holder = None
        elif entry.kind in (Kind.CARENCE, Kind.TAKE_BACK) and not entry.payload["counted"]:
            holder = LANDLORD
    return Replayed(logged, orientation, entries, reversed_ids, state, holder, policies)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def notified_on_of(payload: dict[str, Any]) -> date | None:
    """The day the holder was told of its orientation, as recorded (None before late logging)."""
    return _day(payload.get("notified_on"))


# --- reading -------------------------------------------------------------------------------


def describe(
    session: Session,
    vacancy_id: int,
    actor: Actor | None = None,
    state: Replayed | None = None,
    labels: dict[int, dict] | None = None,
    compact: bool = False,
) -> dict[str, Any]:
    """Everything the API shows of a vacancy: facts, orientation with its explanation, stage,
    deadlines, the events it accepts now, and its journal (`compact`: without the
    explanation's lines nor the journal, for long lists).

    A reserver sees its own shares' figures only: another reserver's entitlement and the
    landlord's own part are not its business (as in /balances).
    """
    state = state or replay(session, vacancy_id)
    logged, orientation = state.logged, state.orientation
    shares = {
        int(line["share"])
        for line in (orientation.payload["explanation"] if orientation else [])
        if line["share"] != LANDLORD
    }
    if state.holder not in (None, LANDLORD):
        shares.add(int(state.holder))
    if labels is None or not shares <= labels.keys():
        labels = scope_conventions.share_labels(session, shares, logged.effective_date)
    cycle = state.lifecycle
    own = None  # None: every share; else the ids of the reserver's own shares
    if actor is not None and actor.role is Role.RESERVER:
        own = {
            sid
            for sid, info in labels.items()
            if info.get("reserver", {}).get("id") == actor.organisation_id
        }
    body = {
        "id": logged.id,
        "dwelling_id": logged.dwelling_id,
        "dwelling": {
            k: logged.payload.get(k)
            for k in ("rpls_id", "commune", "qpv", "typology", "financing", "construction_year")
        },
        "landlord_id": logged.landlord_id,
        "departement": logged.departement_code,
        "available_on": logged.effective_date,
        "letting": logged.payload.get("letting"),
        "deduction": logged.payload.get("deduction"),
        "recorded_at": logged.recorded_at,
        "stage": str(cycle.stage),
        "stage_label": lifecycle.STAGE_LABELS[cycle.stage],
        "held": held_vacancies.hold_of(logged.payload, cycle.stage),
        "holder": _holder(state.holder, labels),
        "orientation": _orientation(orientation, labels, own, compact) if orientation else None,
        "designation_deadline": cycle.designation_deadline
        if cycle.stage is Stage.ORIENTED
        else None,
        "redesignation_deadline": cycle.redesignation_deadline,
        "allowed_events": sorted(str(e) for e in lifecycle.allowed(cycle)),
    }
    if not compact:
        body["events"] = [
            _event(e, e.id in state.reversed_ids)
            for e in state.entries[1:]
            if own is None or e.share_id is None or e.share_id in own
        ]
    return body


def _holder(holder: ShareRef | None, labels: dict[int, dict]) -> dict[str, Any] | None:
    if holder is None:
        return None
    if holder == LANDLORD:
        return {"share_id": None, "landlord_part": True, "label": "Part non réservée du bailleur"}
    return {"landlord_part": False, **labels.get(int(holder), {"share_id": int(holder)})}


def _orientation(
    entry: JournalEntry, labels: dict[int, dict], own: set[int] | None = None, compact: bool = False
) -> dict[str, Any]:
    payload = entry.payload
    lines = []
    for line in [] if compact else payload["explanation"]:
        share = line["share"]
        if own is not None and (share == LANDLORD or int(share) not in own):
            continue
        info = (
            {"landlord_part": True, "label": "Part non réservée du bailleur"}
            if share == LANDLORD
            else {"landlord_part": False, **labels.get(int(share), {})}
        )
        lines.append(
            {
                **info,
                **line,
                "chosen": share == payload["chosen"],
                "percent": format_percent(line["basis_points"]),
                "target_dwellings": format_dwellings(line["target"]),
                "deficit_dwellings": format_dwellings(line["deficit"]),
            }
        )
    return {
        "entry_id": entry.id,
        "proposed": payload["proposed"],
        "chosen": payload["chosen"],
        "override": payload["override"],
        "reason": payload.get("reason"),
        "rule": payload["rule"],
        "rule_version": payload["rule_version"],
        **({} if compact else {"explanation": lines}),
        "summary": orientation_summary.from_payload(
            payload,
            labels,
            visible=None if own is None else {*own},
            by="le bailleur"
            if entry.actor_organisation_id == entry.landlord_id
            else "un administrateur",
        ),
    }


def _event(entry: JournalEntry, reversed_: bool) -> dict[str, Any]:
    return {
        "id": entry.id,
        "type": entry.kind,
        "date": entry.effective_date,
        "recorded_at": entry.recorded_at,
        "share_id": entry.share_id,
        "reverses": entry.reverses_id,
        "reversed": reversed_,
        "details": {k: v for k, v in entry.payload.items() if k not in ("explanation", "eligible")},
    }
