"""The year's vacancies of bench/reports.py's synthetic world, decided by the allocation engine
and written to the journal in bulk (see report_world.py for the whole picture).

Each vacancy's eligible shares come from ``eligible_shares`` on its scope's conventions and its
orientation from ``allocation.propose`` on the scope's running ``AllocationState``, with the
explanation ``log_vacancy`` stores; later events move that state exactly as the journal's fold
will, in date order across every scope, each one checked by the lifecycle state machine.
Payloads have the shapes ``services/vacancies.py`` and ``services/vacancy_events.py`` write.
"""

from __future__ import annotations

import heapq
import json
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain import allocation, lifecycle
from flux.domain.allocation import LANDLORD, AllocationState, ShareRef
from flux.domain.eligibility import VacancyFacts, eligible_shares
from flux.domain.lifecycle import Event, Stage
from flux.models import Convention, JournalEntry, Share
from flux.services import scope_conventions
from flux.services.allocation_book import Scope, eligible_to_payload, explanation_to_payload
from flux.services.scope_conventions import ScopeConventions
from flux.services.vacancies import policies_for
from flux.simulation import DEDUCTION_WEIGHTS, FIRST_LETTING_RATE

if TYPE_CHECKING:
    from report_world import Territory

TYPOLOGIES = {"T1": 10, "T2": 22, "T3": 35, "T4": 23, "T5": 8, "T6+": 2}
FINANCINGS = {"PLAI": 15, "PLUS": 70, "PLS": 10, "PLI": 2, "autre": 3}
DEDUCTION_RATE = 0.15
BATCH = 10_000


def split(total: int, weights: list[float]) -> list[int]:
    """``total`` in proportion to ``weights``, by largest remainder (the parts sum to it)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: parts[i] - exact[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --- the year's vacancies ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draw:
    day: date
    scope: Scope
    dwelling_id: int
    snapshot: dict[str, Any]  # as vacancies._snapshot writes it
    deduction: str | None
    first_letting: bool


def draw_year(
    territory: Territory, ids: dict[str, int], year: int, first_id: int, rng: random.Random
) -> tuple[list[Draw], list[dict[str, Any]]]:
    """The département's vacancies of the year and the dwellings they free (one each)."""
    start, days = date(year, 1, 1), (date(year + 1, 1, 1) - date(year, 1, 1)).days
    counts = split(territory.vacancies, [w for _, w in territory.landlords])
    categories, category_weights = list(DEDUCTION_WEIGHTS), list(DEDUCTION_WEIGHTS.values())
    draws, dwellings, next_id = [], [], first_id
    for (landlord, _), count in zip(territory.landlords, counts, strict=True):
        present = [
            (insee, weight)
            for rank, (insee, weight) in enumerate(
                zip(territory.communes, territory.weights, strict=True)
            )
            if rank == 0 or landlord == territory.landlords[0][0] or rng.random() < 0.5
        ]
        towns, weights = zip(*present, strict=True)
        scope = Scope(ids[landlord], territory.code)
        for commune in rng.choices(towns, weights, k=count):
            first = rng.random() < FIRST_LETTING_RATE
            qpvs = territory.qpvs.get(commune)
            dwelling = {
                "id": next_id,
                "landlord_id": scope.landlord_id,
                "rpls_id": f"B{next_id:011d}",
                "commune_insee": commune,
                "qpv_code": rng.choice(qpvs) if qpvs and rng.random() < 0.35 else None,
                "typology": rng.choices(list(TYPOLOGIES), list(TYPOLOGIES.values()))[0],
                "financing": rng.choices(list(FINANCINGS), list(FINANCINGS.values()))[0],
                "construction_year": year - rng.randint(0, 1) if first else rng.randint(1950, 2022),
                "out_of_flux": None,
            }
            dwellings.append(dwelling)
            next_id += 1
            deducted = rng.random() < DEDUCTION_RATE
            draws.append(
                Draw(
                    start + timedelta(days=rng.randrange(days)),
                    scope,
                    dwelling["id"],
                    {
                        "rpls_id": dwelling["rpls_id"],
                        "commune": commune,
                        "qpv": dwelling["qpv_code"],
                        "typology": dwelling["typology"],
                        "financing": dwelling["financing"],
                        "construction_year": dwelling["construction_year"],
                    },
                    str(rng.choices(categories, category_weights)[0]) if deducted else None,
                    first,
                )
            )
    return draws, dwellings


def insert_batches(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Bulk insert, ``BATCH`` rows at a time. Not the ORM's bulk insert (~0.3 ms a row of
    bookkeeping): on SQLite the DB-API's ``executemany`` with the values already in SQLite's
    storage form (SQLAlchemy's: ISO dates, "YYYY-MM-DD HH:MM:SS.ffffff" UTC timestamps, JSON
    text), elsewhere a Core insert."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        for start in range(0, len(rows), BATCH):
            connection.execute(table.insert(), rows[start : start + BATCH])
        return
    names = list(rows[0])
    # Python-side defaults (created_at…), evaluated once for the call.
    defaults = {
        column.name: column.default.arg if column.default.is_scalar else column.default.arg(None)
        for column in table.columns
        if column.name not in names and column.default is not None
    }
    names += list(defaults)
    rows = [{**row, **defaults} for row in rows] if defaults else rows
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(
            sql,
            [tuple(_sqlite(row[name]) for name in names) for row in rows[start : start + BATCH]],
        )


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


# --- the journal -----------------------------------------------------------------------------


class Journal:
    """Rows numbered in the order they happen (ids are the journal's order), inserted in
    batches; ``vacancy_id`` points at the ``vacancy_logged`` row, as the services write it."""

    def __init__(self, session: Session, first_id: int) -> None:
        self.session, self.next_id, self.rows = session, first_id, []
        self.kinds: Counter[str] = Counter()

    def add(self, kind: str, on: date, scope: Scope, actor: int | None, **columns: Any) -> int:
        entry_id, self.next_id = self.next_id, self.next_id + 1
        self.rows.append(
            {
                "id": entry_id,
                "kind": kind,
                "effective_date": on,
                "recorded_at": datetime.combine(on, time(8), UTC)
                + timedelta(seconds=entry_id % 30_000),
                "actor_user_id": None,
                "actor_organisation_id": actor,
                "landlord_id": scope.landlord_id,
                "departement_code": scope.departement,
                "dwelling_id": columns.get("dwelling_id"),
                "vacancy_id": columns.get("vacancy_id"),
                "convention_id": columns.get("convention_id"),
                "share_id": columns.get("share_id"),
                "reverses_id": None,
                "period": columns["period"],
                "request_id": "bench",
                "idempotency_key": None,
                "payload": columns["payload"],
            }
        )
        self.kinds[kind] += 1
        if len(self.rows) >= BATCH:
            self.flush()
        return entry_id

    def flush(self) -> None:
        if self.rows:
            insert_batches(self.session, JournalEntry, self.rows)
            self.rows = []


@dataclass
class ScopeRun:
    scope: Scope
    conventions: ScopeConventions
    reserver_of: dict[int, int]  # share id -> reserver organisation id
    state: AllocationState = field(default_factory=AllocationState)


@dataclass(slots=True)
class Open:
    """A vacancy being followed: the engine's view of it and its lifecycle."""

    id: int
    run: ScopeRun
    draw: Draw
    vacancy: allocation.Vacancy | None
    cycle: lifecycle.Lifecycle
    holder: ShareRef | None
    policies: dict[str, Any]


class Year:
    """The year's events in date order across every scope, each applied to its scope's
    allocation state as the journal's fold will apply it."""

    def __init__(self, journal: Journal, runs: dict[Scope, ScopeRun], year: int, seed: int):
        self.journal, self.runs, self.year = journal, runs, year
        self.rng = random.Random(seed)
        self.end = date(year, 12, 31)
        self.queue: list[tuple[date, int, Open, Event, dict[str, Any]]] = []
        self.seq = 0
        self.refused = 0

    def run(self, draws: list[Draw]) -> None:
        for item in sorted(draws, key=lambda d: d.day):
            while self.queue and self.queue[0][0] < item.day:
                self._event(*heapq.heappop(self.queue))
            self._log(item)
        while self.queue:
            self._event(*heapq.heappop(self.queue))
        self.journal.flush()

    def _log(self, item: Draw) -> None:
        run, rng = self.runs[item.scope], self.rng
        facts = VacancyFacts(
            item.day,
            item.snapshot["commune"],
            item.snapshot["typology"],
            item.snapshot["qpv"] is not None,
            item.first_letting,
        )
        eligible = eligible_shares(run.conventions.views, facts)
        payload = {
            "letting": "first_letting" if item.first_letting else "reletting",
            "deduction": item.deduction,
            "eligible": eligible_to_payload(eligible),
            **item.snapshot,
        }
        common = {"dwelling_id": item.dwelling_id, "period": self.year}
        landlord = item.scope.landlord_id
        logged = self.journal.add(
            "vacancy_logged", item.day, item.scope, landlord, payload=payload, **common
        )
        if item.deduction is not None:
            cycle = lifecycle.start(
                item.day,
                deducted=True,
                held_by_landlord=True,
                deadline_days=0,
                refusal_delay_days=15,
            )
            vacancy = Open(logged, run, item, None, cycle, None, {})
            return self._follow(vacancy, item.day)
        engine_vacancy = allocation.Vacancy(logged, eligible)
        decision = allocation.propose(run.state, engine_vacancy)
        chosen = decision.chosen
        if rng.random() < 0.02:
            others = [p[0] for p in engine_vacancy.participants if p[0] != decision.chosen]
            chosen = rng.choice(others)
        allocation.apply(run.state, engine_vacancy, chosen)
        policies = policies_for(run.conventions, chosen, item.day)
        override = chosen != decision.chosen
        self.journal.add(
            "orientation",
            item.day,
            item.scope,
            landlord,
            vacancy_id=logged,
            share_id=None if chosen == LANDLORD else chosen,
            convention_id=policies.pop("convention_id"),
            payload={
                "chosen": chosen,
                "proposed": decision.chosen,
                "override": override,
                "reason": "Équilibre du peuplement (banc d'essai)" if override else None,
                "rule": decision.rule_name,
                "rule_version": decision.rule_version,
                "explanation": explanation_to_payload(decision.lines),
                **policies,
            },
            **common,
        )
        cycle = lifecycle.start(
            item.day,
            deducted=False,
            held_by_landlord=chosen == LANDLORD,
            deadline_days=policies["deadline_days"] or 0,
            refusal_delay_days=policies["refusal_delay_days"] or 15,
        )
        self._follow(Open(logged, run, item, engine_vacancy, cycle, chosen, policies), item.day)

    def _then(self, vacancy: Open, on: date, event: Event, data: dict[str, Any]) -> None:
        if on <= self.end:
            self.seq += 1
            heapq.heappush(self.queue, (on, self.seq, vacancy, event, data))

    def _follow(self, vacancy: Open, on: date) -> None:
        """The next event, as demo_activity schedules it (plus overrides)."""
        cycle, rng, days = vacancy.cycle, self.rng, timedelta
        if cycle.closed:
            return
        if rng.random() < 0.01:
            reason = {"reason": "Le locataire reste finalement."}
            return self._then(vacancy, on + days(rng.randint(1, 10)), Event.WITHDRAWAL, reason)
        stage = cycle.stage
        if stage is Stage.DEDUCTED:
            return self._then(vacancy, on + days(rng.randint(10, 40)), Event.LEASE, {})
        if stage is Stage.ORIENTED and not cycle.held_by_landlord:
            draw = rng.random()
            if draw < 0.07:
                return self._then(vacancy, cycle.designation_deadline + days(1), Event.CARENCE, {})
            if draw < 0.08:
                on_ = on + days(rng.randint(1, 5))
                return self._then(vacancy, on_, Event.OVERRIDE, {})
            candidates = 1 if rng.random() < 0.1 else 3
            data = {"candidates": candidates, "dalo": candidates == 1}
            return self._then(vacancy, on + days(rng.randint(5, 25)), Event.DESIGNATION, data)
        if stage is Stage.CAL_REFUSED:
            if rng.random() < 0.5:
                data = {"candidates": 3, "dalo": False}
                return self._then(vacancy, on + days(rng.randint(3, 10)), Event.DESIGNATION, data)
            deadline = cycle.redesignation_deadline + days(1)
            return self._then(vacancy, deadline, Event.TAKE_BACK, {})
        if stage in (Stage.ORIENTED, Stage.DESIGNATED, Stage.TAKEN_BACK):
            if stage is Stage.DESIGNATED and rng.random() < 0.12:
                return self._then(vacancy, on + days(rng.randint(7, 20)), Event.CAL_REFUSAL, {})
            household = {
                "dalo": rng.random() < 0.1,
                "prioritaire": rng.random() < 0.35,
                "first_quartile": rng.random() < 0.3,
            }
            data = {"rank": 1, "household": household}
            return self._then(vacancy, on + days(rng.randint(7, 25)), Event.CAL_ATTRIBUTION, data)
        if stage is Stage.ATTRIBUTED:
            return self._then(vacancy, on + days(rng.randint(10, 30)), Event.LEASE, {})
        return None

    def _event(self, on: date, _seq: int, vacancy: Open, event: Event, data: dict) -> None:
        try:
            cycle = lifecycle.advance(vacancy.cycle, event, on)
        except lifecycle.TransitionRefused:
            self.refused += 1  # a delay shorter than the drawn one: the reserver missed it
            return
        run, holder, actor = vacancy.run, vacancy.holder, vacancy.draw.scope.landlord_id
        share_id = None if holder in (None, LANDLORD) else int(holder)
        if event is Event.DESIGNATION:
            actor = run.reserver_of.get(share_id, actor)
            payload: dict[str, Any] = data
        elif event is Event.CAL_ATTRIBUTION:
            payload = data
        elif event in (Event.CARENCE, Event.TAKE_BACK):
            policy = "carence_counts" if event is Event.CARENCE else "cal_refusal_counts"
            counted = bool(vacancy.policies.get(policy, True))
            payload = {"counted": counted, "from": holder}
            if not counted and holder != LANDLORD:
                allocation.reorient(run.state, vacancy.vacancy, holder, LANDLORD)
                vacancy.holder = LANDLORD
        elif event is Event.WITHDRAWAL:
            payload = {**data, "from": holder}
            if holder is not None:
                allocation.withdraw(run.state, vacancy.vacancy, holder)
                vacancy.holder = None
        elif event is Event.OVERRIDE:
            payload, share_id, cycle = self._override(vacancy, cycle, on)
        else:
            payload = {}
        self.journal.add(
            str(event),
            on,
            vacancy.draw.scope,
            actor,
            dwelling_id=vacancy.draw.dwelling_id,
            vacancy_id=vacancy.id,
            share_id=share_id,
            period=self.year,
            payload=payload,
        )
        vacancy.cycle = cycle
        self._follow(vacancy, on)

    def _override(
        self, vacancy: Open, cycle: lifecycle.Lifecycle, on: date
    ) -> tuple[dict[str, Any], int | None, lifecycle.Lifecycle]:
        run, holder = vacancy.run, vacancy.holder
        targets = [p[0] for p in vacancy.vacancy.participants if p[0] != holder]
        target = self.rng.choice(targets)
        allocation.reorient(run.state, vacancy.vacancy, holder, target)
        policies = policies_for(run.conventions, target, vacancy.draw.day)
        payload = {
            "from": holder,
            "to": target,
            "reason": "Candidat prioritaire du bailleur (banc d'essai)",
            **policies,
        }
        vacancy.holder = target
        vacancy.policies.update(payload)
        cycle = lifecycle.reoriented(
            cycle,
            to_landlord=target == LANDLORD,
            deadline_days=policies["deadline_days"] or 0,
            refusal_delay_days=policies["refusal_delay_days"] or 15,
        )
        return payload, None if target == LANDLORD else int(target), cycle


def scope_runs(session: Session, scopes: Iterable[Scope]) -> dict[Scope, ScopeRun]:
    runs = {}
    for scope in scopes:
        loaded = scope_conventions.load(session, scope.landlord_id, scope.departement)
        reserver_of = {
            share: reserver
            for share, reserver in _share_reservers(session, set(loaded.convention_of_share))
        }
        runs[scope] = ScopeRun(scope, loaded, reserver_of)
    return runs


def _share_reservers(session: Session, shares: set[int]) -> list[tuple[int, int]]:
    stmt = (
        sa.select(Share.id, Convention.reserver_id)
        .join(Convention, Share.convention_id == Convention.id)
        .where(Share.id.in_(shares))
    )
    return list(session.execute(stmt).tuples())
