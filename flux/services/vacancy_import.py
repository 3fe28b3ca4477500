"""Bulk import of a landlord's vacancies and their events from its ERP (issue 14).

The file is read line by line (``import_files``); its rows are grouped by scope (landlord ×
département) and applied in date order within each scope, under that scope's lock, by the same
engine and with the same explanations as ``POST /vacancies``: the decisions are made on the
scope's cached state in memory and the entries inserted in batches. Each row is keyed — a
vacancy by the landlord's ``reference`` or by its dwelling and date, an event by its vacancy,
type and date — so that sending the same file twice changes nothing.

``all_or_nothing`` (the default): one refused row and nothing is written. Otherwise the good
rows are kept and the report lists the others. ``dry_run``: everything is decided and
reported, nothing is written.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import SimpleNamespace
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import allocation, lifecycle, reconciliation
from flux.domain.allocation import LANDLORD, ShareRef
from flux.domain.eligibility import VacancyFacts, eligible_shares
from flux.domain.errors import DomainError
from flux.domain.lifecycle import Event, Lifecycle
from flux.domain.reference import OUT_OF_FLUX_LABELS, DeductionCategory, Letting
from flux.models import Commune, Dwelling, JournalEntry
from flux.models.types import utcnow
from flux.services import (
    allocation_book,
    held_vacancies,
    import_files,
    scope_conventions,
    vacancies,
)
from flux.services.access import Actor, require_writer
from flux.services.allocation_book import Scope, eligible_to_payload
from flux.services.dwellings import landlord_for_write
from flux.services.errors import Conflict, ServiceError
from flux.services.journal import Kind

# Events an ERP file may carry; overrides and corrections need a person: the API.
EVENTS = {
    Event.DESIGNATION,
    Event.CAL_ATTRIBUTION,
    Event.CAL_REFUSAL,
    Event.CARENCE,
    Event.TAKE_BACK,
    Event.LEASE,
    Event.WITHDRAWAL,
}
BATCH = 1_000
_COLUMNS = (
    "id",
    "kind",
    "effective_date",
    "recorded_at",
    "actor_user_id",
    "actor_organisation_id",
    "landlord_id",
    "departement_code",
    "dwelling_id",
    "vacancy_id",
    "convention_id",
    "share_id",
    "reverses_id",
    "period",
    "request_id",
    "idempotency_key",
    "payload",
)


class Refused(Exception):
    """A row the import does not apply; the message (French) says why."""


@dataclass
class ImportReport:
    dry_run: bool
    all_or_nothing: bool
    rows: int = 0
    created: int = 0
    existing: int = 0
    refused: int = 0
    written: bool = False
    # (line, "created" | "existing" | "refused", vacancy id), in the file's order
    results: list[tuple[int, str, int | None]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)  # line, reason

    def as_dict(self) -> dict[str, Any]:
        results = sorted(self.results)
        return {
            "dry_run": self.dry_run,
            "all_or_nothing": self.all_or_nothing,
            "written": self.written,
            "rows": self.rows,
            "created": self.created,
            "existing": self.existing,
            "refused": self.refused,
            "refusals": sorted(self.refusals, key=lambda r: r["line"]),
            # A created row's vacancy has an id only once written.
            "results": [
                {
                    "line": ln,
                    "status": st,
                    "vacancy_id": vid if self.written or st != "created" else None,
                }
                for ln, st, vid in results
            ],
        }


@dataclass(slots=True)
class Tracked:
    """A vacancy of the landlord as the import follows it (logged earlier, or in this file)."""

    vacancy_id: int
    dwelling_id: int
    period: int
    cycle: Lifecycle
    holder: ShareRef | None
    policies: dict[str, Any]
    events: set[tuple[str, date]]  # (kind, date) of its events: a second send is a no-op


def import_vacancies(
    session: Session,
    actor: Actor,
    stream: IO[bytes],
    name: str,
    landlord_ref: int | str | None,
    *,
    dry_run: bool = False,
    all_or_nothing: bool = True,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Apply a vacancy file; the caller commits when ``report.written``, else rolls back."""
    # The import holds a few hundred thousand small objects alive (the landlord's dwellings,
    # the scope's vacancies): the cyclic collector would rescan them again and again (it
    # took a third of the time); the import makes no cycles worth collecting meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import(
            session, actor, stream, name, landlord_ref, dry_run, all_or_nothing, today, progress
        )
    finally:
        if collecting:
            gc.enable()


def _import(
    session: Session,
    actor: Actor,
    stream: IO[bytes],
    name: str,
    landlord_ref: int | str | None,
    dry_run: bool,
    all_or_nothing: bool,
    today: date | None,
    progress: Callable[[int, int], None] | None,
) -> ImportReport:
    landlord = landlord_for_write(session, actor, landlord_ref)
    require_writer(actor)
    report = ImportReport(dry_run, all_or_nothing)
    run = _Run(session, actor, landlord.id, report, today or clock.today(), dry_run)
    by_scope: dict[Scope, list[import_files.Row]] = {}
    for row in import_files.read(stream, name):
        report.rows += 1
        scope = run.scope_of(row)
        if scope is not None:
            by_scope.setdefault(scope, []).append(row)
    for scope in sorted(by_scope, key=lambda s: (s.landlord_id, s.departement)):
        rows = sorted(by_scope.pop(scope), key=lambda r: (r.day, not r.is_vacancy, r.line))
        run.apply_scope(scope, rows, progress)
    keep = not dry_run and not (all_or_nothing and report.refused)
    if keep:
        run.flush()
    report.written = keep and report.created > 0
    return report


class _Run:
    """One import: the landlord's dwellings and vacancies, and the entries waiting to be
    inserted."""

    def __init__(
        self,
        session: Session,
        actor: Actor,
        landlord_id: int,
        report: ImportReport,
        today: date,
        dry_run: bool,
    ) -> None:
        self.session, self.actor, self.landlord_id = session, actor, landlord_id
        self.report, self.today, self.dry_run = report, today, dry_run
        self.dwellings = {
            d.rpls_id: d
            for d in session.execute(
                sa.select(
                    Dwelling.id,
                    Dwelling.rpls_id,
                    Dwelling.commune_insee,
                    Dwelling.qpv_code,
                    # As plain strings: the enums' checks cost more than the rest of the read.
                    sa.type_coerce(Dwelling.typology, sa.String).label("typology"),
                    sa.type_coerce(Dwelling.financing, sa.String).label("financing"),
                    Dwelling.construction_year,
                    sa.type_coerce(Dwelling.out_of_flux, sa.String).label("out_of_flux"),
                    Dwelling.sold_on,
                    Commune.departement_code,
                )
                .join(Commune, Dwelling.commune_insee == Commune.insee)
                .where(Dwelling.landlord_id == landlord_id)
            )
        }
        self.by_key: dict[tuple[int, date], list[int]] = {}  # (dwelling, date) -> vacancies
        self.by_reference: dict[str, int] = {}
        self.last_of_dwelling: dict[int, int] = {}
        self.events: dict[int, set[tuple[str, date]]] = {}
        self._load_existing()
        self.tracked: dict[int, Tracked] = {}
        self.pending: list[dict[str, Any]] = []
        self.ids = self._ids()
        self.refusing = False  # all or nothing, and a row was refused: stop writing

    # --- what the database already holds ----------------------------------------------

    def _load_existing(self) -> None:
        for vid, dwelling_id, on, key in self.session.execute(
            sa.select(
                JournalEntry.id,
                JournalEntry.dwelling_id,
                JournalEntry.effective_date,
                JournalEntry.idempotency_key,
            )
            .where(
                JournalEntry.landlord_id == self.landlord_id,
                JournalEntry.kind == Kind.VACANCY_LOGGED,
            )
            .order_by(JournalEntry.id)
        ):
            self.by_key.setdefault((dwelling_id, on), []).append(vid)
            if key:
                self.by_reference[key] = vid
            self.last_of_dwelling[dwelling_id] = vid
        if not self.by_key:
            return
        for vid, kind, on in self.session.execute(
            sa.select(
                JournalEntry.vacancy_id, JournalEntry.kind, JournalEntry.effective_date
            ).where(
                JournalEntry.landlord_id == self.landlord_id,
                JournalEntry.vacancy_id.is_not(None),
                JournalEntry.kind.in_([str(e) for e in EVENTS]),
            )
        ):
            self.events.setdefault(vid, set()).add((kind, on))

    def _tracked(self, vacancy_id: int) -> Tracked:
        """A vacancy's lifecycle: followed in memory, replayed once if logged before."""
        known = self.tracked.get(vacancy_id)
        if known is None:
            state = vacancies.replay(self.session, vacancy_id)
            known = Tracked(
                vacancy_id,
                state.logged.dwelling_id,
                state.logged.period,
                state.lifecycle,
                state.holder,
                state.policies,
                self.events.get(vacancy_id, set()),
            )
            self.tracked[vacancy_id] = known
        return known

    def _ids(self) -> Iterator[int]:
        """Journal ids for the new entries, taken under the scope locks (ascending)."""
        if self.dry_run:  # never written: negative ids, told apart from the database's
            yield from itertools.count(-1, -1)
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            while True:
                yield from sorted(
                    self.session.scalars(
                        sa.text(
                            "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) "
                            "FROM generate_series(1, :n)"
                        ),
                        {"n": BATCH},
                    )
                )
        else:  # SQLite: the write lock is held from the first scope lock on
            following = None
            while True:
                if following is None:
                    following = (
                        self.session.scalar(sa.select(sa.func.max(JournalEntry.id))) or 0
                    ) + 1
                yield following
                following += 1

    # --- rows -----------------------------------------------------------------------------

    def scope_of(self, row: import_files.Row) -> Scope | None:
        dwelling = self.dwellings.get(row.rpls_id)
        if row.problem is not None or dwelling is None:
            problem = row.problem or (
                f"logement {row.rpls_id or '(sans numéro RPLS)'} inconnu dans le patrimoine "
                "du bailleur"
            )
            self.refuse(row, problem[0].upper() + problem[1:] + ".")
            return None
        return Scope(self.landlord_id, dwelling.departement_code)

    def refuse(self, row: import_files.Row, reason: str) -> None:
        self.report.refused += 1
        self.report.results.append((row.line, "refused", None))
        self.report.refusals.append({"line": row.line, "reason": reason})
        if self.report.all_or_nothing:
            self.refusing = True
            self.pending.clear()

    def apply_scope(
        self,
        scope: Scope,
        rows: list[import_files.Row],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        rule = allocation_book.lock(self.session, scope)
        conventions = scope_conventions.load(self.session, scope.landlord_id, scope.departement)
        closed = allocation_book.closed_years(self.session, scope, rule)
        # Only the years with a vacancy to decide need their state folded (a file sent again
        # decides nothing and folds nothing).
        years = {r.available_on.year for r in rows if self._to_decide(r)}
        books = {year: allocation_book.load(self.session, scope, year, rule) for year in years}
        context = _ScopeContext(scope, rule, conventions, closed, books)
        context.first_year = allocation_book.first_year(self.session, scope)
        for row in rows:
            try:
                if row.is_vacancy:
                    outcome = self._vacancy(context, row)
                else:
                    outcome = self._event(context, row)
            except Refused as error:
                self.refuse(row, str(error))
                continue
            except (DomainError, ServiceError) as error:
                self.refuse(row, getattr(error, "detail", None) or str(error))
                continue
            self.report.results.append((row.line, outcome[0], outcome[1]))
            if outcome[0] == "created":
                self.report.created += 1
            else:
                self.report.existing += 1
            if progress is not None and len(self.report.results) % BATCH == 0:
                progress(len(self.report.results), self.report.rows)
        if not self.dry_run and not self.refusing:
            self.flush()
        if progress is not None:
            progress(len(self.report.results), self.report.rows)

    def _append(self, context: _ScopeContext, entry: dict[str, Any], vacancy: Any = None) -> None:
        allocation_book.record(
            self.session, context.scope, [SimpleNamespace(**entry, vacancy=vacancy)]
        )
        if self.dry_run or self.refusing:
            return
        self.pending.append(entry)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Insert the waiting entries: COPY on PostgreSQL (several times faster than INSERT
        for the explanations' JSON), batched INSERTs elsewhere. Triggers fire for both."""
        if not self.pending:
            return
        if self.session.get_bind().dialect.name == "postgresql":
            connection = self.session.connection().connection.driver_connection
            with connection.cursor() as cursor:
                statement = f"COPY journal_entries ({', '.join(_COLUMNS)}) FROM STDIN"
                with cursor.copy(statement) as copy:
                    for entry in self.pending:
                        copy.write_row(
                            [json.dumps(entry[c]) if c == "payload" else entry[c] for c in _COLUMNS]
                        )
        else:
            self.session.execute(sa.insert(JournalEntry), self.pending)
        self.pending = []

    def _entry(self, context: _ScopeContext, kind: Kind, on: date, **columns: Any) -> dict:
        if "id" not in columns:
            columns["id"] = next(self.ids)
        return {
            "kind": str(kind),
            "effective_date": on,
            "recorded_at": context.recorded_at,
            "actor_user_id": self.actor.user_id,
            "actor_organisation_id": self.actor.organisation_id,
            "landlord_id": context.scope.landlord_id,
            "departement_code": context.scope.departement,
            "request_id": self.actor.request_id,
            "vacancy_id": None,
            "convention_id": None,
            "share_id": None,
            "reverses_id": None,
            "idempotency_key": None,
            **columns,
        }

    # --- a vacancy --------------------------------------------------------------------------

    def _vacancy(self, context: _ScopeContext, row: import_files.Row) -> tuple[str, int | None]:
        dwelling = self.dwellings[row.rpls_id]
        on = row.available_on
        if on is None:
            raise Refused("Date de disponibilité (available_on) manquante.")
        earlier = self._earlier(dwelling.id, on, row.reference)
        if earlier is not None:
            return "existing", earlier if earlier > 0 else None
        letting, deduction = _letting(row.letting), _deduction(row.deduction)
        if dwelling.out_of_flux is not None:
            raise Refused(
                f"Le logement {dwelling.rpls_id} est hors du flux "
                f"({OUT_OF_FLUX_LABELS[dwelling.out_of_flux]}) : il ne s'oriente pas."
            )
        try:
            vacancies.refuse_if_sold(dwelling.rpls_id, dwelling.sold_on, on)
        except Conflict as error:
            raise Refused(str(error)) from error
        self._refuse_if_open(dwelling)
        lifecycle.check_available_on(on, self.today)
        reconciliation.check_open(on, context.closed)
        facts = VacancyFacts(
            on,
            dwelling.commune_insee,
            dwelling.typology,
            dwelling.qpv_code is not None,
            letting is Letting.FIRST_LETTING,
        )
        eligible = context.eligible(facts)
        vacancy_id = next(self.ids)
        vacancy = allocation.Vacancy(vacancy_id, eligible, deduction)
        decision = None
        held = context.must_wait_for(on, deduction)  # as POST /vacancies: held_vacancies
        if deduction is None and held is None:
            try:
                decision = allocation.propose(context.books[on.year].state, vacancy)
            except allocation.RuleNotApplicable as error:
                raise Refused(str(error)) from error
        logged = self._entry(
            context,
            Kind.VACANCY_LOGGED,
            on,
            dwelling_id=dwelling.id,
            period=on.year,
            idempotency_key=row.reference,
            id=vacancy_id,
            payload={
                "letting": str(letting),
                "deduction": deduction,
                "eligible": context.eligible_payload(eligible),
                **_snapshot(dwelling),
                **held_vacancies.payload(held),
            },
        )
        self._append(context, logged, vacancy)
        if context.first_year is None or on.year < context.first_year:
            context.first_year = on.year
        policies: dict[str, Any] = {}
        if decision is not None:
            policies = vacancies.policies_for(context.conventions, decision.chosen, on)
            orientation = self._entry(
                context,
                Kind.ORIENTATION,
                on,
                dwelling_id=dwelling.id,
                vacancy_id=logged["id"],
                period=on.year,
                share_id=None if decision.chosen == LANDLORD else decision.chosen,
                convention_id=policies.pop("convention_id"),
                payload={
                    "chosen": decision.chosen,
                    "proposed": decision.chosen,
                    "override": False,
                    "reason": None,
                    "rule": decision.rule_name,
                    "rule_version": decision.rule_version,
                    "explanation": decision.explanation_payload(),
                    # As when logged one by one: the delay runs from the day it is logged.
                    "notified_on": max(on, row.notified_on or self.today).isoformat(),
                    **policies,
                },
            )
            self._append(context, orientation)
            policies = orientation["payload"]
        self._track_new(logged, decision, policies, held is not None)
        return "created", logged["id"] if logged["id"] > 0 else None

    def _track_new(self, logged: dict, decision: Any, policies: dict, held: bool) -> None:
        vid, dwelling_id, on = logged["id"], logged["dwelling_id"], logged["effective_date"]
        holder = None if decision is None else decision.chosen
        cycle = lifecycle.start(
            on,
            deducted=decision is None and not held,
            held_by_landlord=holder == LANDLORD,
            deadline_days=policies.get("deadline_days") or 0,
            refusal_delay_days=policies.get("refusal_delay_days") or 15,
            notified_on=vacancies.notified_on_of(policies),
            held=held,
        )
        key = vid  # negative in a dry run
        self.tracked[key] = Tracked(key, dwelling_id, on.year, cycle, holder, policies, set())
        self.by_key.setdefault((dwelling_id, on), []).append(key)
        if logged["idempotency_key"]:
            self.by_reference[logged["idempotency_key"]] = key
        self.last_of_dwelling[dwelling_id] = key

    def _to_decide(self, row: import_files.Row) -> bool:
        if not row.is_vacancy or row.available_on is None:
            return False
        try:
            dwelling = self.dwellings[row.rpls_id]
            return self._earlier(dwelling.id, row.available_on, row.reference) is None
        except Refused:
            return False

    def _earlier(self, dwelling_id: int, on: date, reference: str | None) -> int | None:
        if reference is not None and reference in self.by_reference:
            vid = self.by_reference[reference]
            if vid not in self.by_key.get((dwelling_id, on), []):
                raise Refused(
                    f"La référence « {reference} » a déjà servi pour une autre libération."
                )
            return vid
        # Unlike POST /vacancies, a withdrawn vacancy still stands for its row: the file that
        # logged it carries its withdrawal too, and sending it again must change nothing.
        found = self.by_key.get((dwelling_id, on))
        return found[-1] if found else None

    def _refuse_if_open(self, dwelling: Any) -> None:
        last = self.last_of_dwelling.get(dwelling.id)
        if last is None:
            return
        cycle = self._tracked(last).cycle
        if not cycle.closed:
            raise Refused(
                f"Le logement {dwelling.rpls_id} a déjà une libération en cours "
                f"(étape « {lifecycle.STAGE_LABELS[cycle.stage]} ») : clôturez-la (bail, "
                "retrait) avant d'en enregistrer une autre."
            )

    # --- an event -----------------------------------------------------------------------------

    def _event(self, context: _ScopeContext, row: import_files.Row) -> tuple[str, int | None]:
        try:
            event = Event(row.type)
        except ValueError:
            event = None
        if event not in EVENTS:
            raise Refused(
                f"Type « {row.type} » inconnu ou non importable (possibles : vacancy, "
                f"{', '.join(sorted(str(e) for e in EVENTS))}) ; réorientations et corrections "
                "passent par l'API."
            )
        if row.on is None:
            raise Refused("Date de l'événement (date) manquante.")
        vacancy_id = self._vacancy_of(row)
        shown = vacancy_id if vacancy_id > 0 else None
        known = self.tracked.get(vacancy_id)
        if (str(event), row.on) in (known.events if known else self.events.get(vacancy_id, ())):
            return "existing", shown  # before any replay: a second send reads nothing more
        tracked = self._tracked(vacancy_id)
        lifecycle.check_event_date(row.on, self.today)
        reconciliation.check_open(row.on, context.closed)
        if tracked.period in context.closed:
            raise Refused("Libération d'une année close : enregistrez l'événement par l'API.")
        cycle = lifecycle.advance(tracked.cycle, event, row.on)
        payload = self._payload(tracked, event, row)
        holder = tracked.holder
        entry = self._entry(
            context,
            Kind(event.value),
            row.on,
            dwelling_id=tracked.dwelling_id,
            vacancy_id=vacancy_id,
            period=tracked.period,
            share_id=None if holder in (None, LANDLORD) else int(holder),
            payload=payload,
        )
        self._append(context, entry)
        tracked.cycle = cycle
        tracked.events.add((str(event), row.on))
        if event in (Event.CARENCE, Event.TAKE_BACK) and not payload["counted"]:
            tracked.holder = LANDLORD
        elif event is Event.WITHDRAWAL:
            tracked.holder = None
        return "created", shown

    def _vacancy_of(self, row: import_files.Row) -> int:
        if row.reference is not None:
            found = self.by_reference.get(row.reference)
            if found is None:
                raise Refused(f"Aucune libération de référence « {row.reference} ».")
            return found
        dwelling = self.dwellings[row.rpls_id]
        if row.available_on is None:
            raise Refused(
                "Désignez la libération : sa référence, ou le numéro RPLS et sa date de "
                "disponibilité (available_on)."
            )
        found = self.by_key.get((dwelling.id, row.available_on))
        if not found:
            raise Refused(
                f"Aucune libération du logement {row.rpls_id} disponible le "
                f"{row.available_on.isoformat()}."
            )
        return found[-1]

    def _payload(self, tracked: Tracked, event: Event, row: import_files.Row) -> dict[str, Any]:
        """The entry's payload, as ``POST /vacancies/{id}/events`` records it."""
        if event is Event.DESIGNATION:
            required = tracked.policies.get("candidates_required") or 3
            candidates = row.candidates or 0
            if candidates < required and not row.dalo:
                raise Refused(
                    f"La désignation doit proposer au moins {required} candidats (sauf "
                    f"désignation DALO) : {candidates} proposé(s)."
                )
            return {"candidates": candidates, "dalo": row.dalo}
        if event is Event.CAL_ATTRIBUTION:
            if row.rank is None or row.rank < 1:
                raise Refused("Rang du candidat attributaire (rank) manquant.")
            household = {
                "dalo": row.dalo,
                "prioritaire": row.prioritaire,
                "first_quartile": row.first_quartile,
            }
            return {"rank": row.rank, "household": household}
        if event in (Event.CARENCE, Event.TAKE_BACK):
            policy = "carence_counts" if event is Event.CARENCE else "cal_refusal_counts"
            return {"counted": bool(tracked.policies.get(policy, True)), "from": tracked.holder}
        if event is Event.WITHDRAWAL:
            if not row.reason:
                raise Refused("Un motif (reason) est obligatoire pour un retrait.")
            return {"reason": row.reason, "from": tracked.holder}
        return {}


@dataclass
class _ScopeContext:
    scope: Scope
    rule: allocation.Rule
    conventions: scope_conventions.ScopeConventions
    closed: set[int]
    books: dict[int, allocation_book.Book]
    recorded_at: Any = field(default_factory=utcnow)
    # Eligibility changes with the date only where a version or a share starts or ends: the
    # same commune, typology, QPV and kind of letting between two such days have the same
    # eligible shares, computed once (a year has a few hundred cases for 100 000 rows).
    _eligible: dict[tuple, tuple] = field(default_factory=dict)
    _payloads: dict[int, list] = field(default_factory=dict)
    _breaks: list[date] | None = None
    first_year: int | None = None  # the scope's first year with a vacancy (None: none yet)

    def must_wait_for(self, on: date, deduction: str | None) -> int | None:
        """The year whose close the row's vacancy waits for (held_vacancies), or None."""
        first = self.first_year
        return reconciliation.awaited_close(
            on,
            deducted=deduction is not None,
            closed_years=self.closed,
            history_before=lambda year: first is not None and first < year,
        )

    def eligible(self, facts: VacancyFacts) -> tuple:
        if self._breaks is None:
            self._breaks = _breakpoints(self.conventions.views)
        span = bisect.bisect_right(self._breaks, facts.available_on)
        key = (facts.commune, facts.typology, facts.in_qpv, facts.first_letting, span)
        found = self._eligible.get(key)
        if found is None:
            found = self._eligible[key] = eligible_shares(self.conventions.views, facts)
        return found

    def eligible_payload(self, eligible: list) -> list:
        found = self._payloads.get(id(eligible))
        if found is None:
            found = self._payloads[id(eligible)] = eligible_to_payload(eligible)
        return found


def _breakpoints(views: list) -> list[date]:
    """Every day on or after which some version's or share's being in force may change (each
    bound and the day after it, whichever way the comparison goes)."""
    days: set[date] = set()
    for view in views:
        bounds = [view.valid_from, view.valid_until, view.effective_from, view.effective_until]
        bounds += [share.ends_on for share in view.shares]
        for bound in bounds:
            if bound is not None:
                days.update((bound, bound + timedelta(days=1)))
    return sorted(days)


def _letting(value: str | None) -> Letting:
    try:
        return Letting(value or Letting.RELETTING.value)
    except ValueError as error:
        raise Refused(
            f"letting : « {value} » inconnu (possibles : {', '.join(str(v) for v in Letting)})."
        ) from error


def _deduction(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(DeductionCategory(value))
    except ValueError as error:
        raise Refused(
            f"deduction : « {value} » inconnue (possibles : "
            f"{', '.join(str(v) for v in DeductionCategory)})."
        ) from error


def _snapshot(dwelling: Any) -> dict[str, Any]:
    return {
        "rpls_id": dwelling.rpls_id,
        "commune": dwelling.commune_insee,
        "qpv": dwelling.qpv_code,
        "typology": str(dwelling.typology),
        "financing": str(dwelling.financing),
        "construction_year": dwelling.construction_year,
    }
