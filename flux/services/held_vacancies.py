"""Vacancies held until the previous year closes (issue 11, item 4).

A vacancy dated in year Y, in a scope (landlord × département) that already has vacancies
before Y but has not closed Y-1 yet, cannot be decided fairly: the carry-over of Y-1, which
the close writes into Y's opening balances, is not known. Such a vacancy is logged (the
journal records it at once, ``held_until_close_of`` in its payload) but not oriented: its
stage is ``held``. When Y-1 is closed (``year_close.close``: the CLI, the scheduler's
``year-close`` job, the demo), its held vacancies are oriented in availability-date order by
the same engine, after the carry-over entries, so that their decisions include the carry-in;
the designation delay runs from the orientation day (the late-logging rule).

The first year of a scope is never held (there is nothing to close before it), nor is a
deducted vacancy (it is oriented to nobody).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from flux import clock
from flux.domain import allocation, reconciliation
from flux.domain.errors import DomainError
from flux.models import JournalEntry
from flux.services import alerts, allocation_book, scope_conventions
from flux.services.access import Actor
from flux.services.allocation_book import Scope, vacancy_from_payload
from flux.services.errors import Conflict, ServiceError
from flux.services.journal import Kind

HELD_KEY = "held_until_close_of"  # in a vacancy_logged payload: the year awaited


def must_wait_for(
    session: Session, scope: Scope, rule: allocation.Rule, closed: set[int], data: Any
) -> int | None:
    """The year whose close a new vacancy (``vacancies.NewVacancy``) must wait for, or None
    to orient it now; refuses an override of a vacancy that must wait (409).

    Call under the scope lock: whether the scope has a vacancy before the vacancy's year is
    read from its cached state (no statement)."""
    first = allocation_book.first_vacancy_year(session, scope, rule)
    awaited = reconciliation.awaited_close(
        data.available_on,
        deducted=data.deduction is not None,
        closed_years=closed,
        history_before=lambda year: first is not None and first < year,
    )
    if awaited is not None:
        refuse_override(awaited, data.orient_to)
    return awaited


def refuse_override(waiting_for: int, orient_to: Any) -> None:
    """An override needs a proposal to depart from: a held vacancy has none yet."""
    if orient_to is not None:
        raise Conflict(
            f"Cette libération sera orientée à la clôture de l'année {waiting_for} (son report "
            "n'est pas encore connu) : il n'y a pas encore de proposition à laquelle déroger. "
            "Enregistrez-la sans « orient_to », puis réorientez-la après la clôture.",
            errors={"json": {"orient_to": [f"Impossible avant la clôture de {waiting_for}."]}},
            extra={"rule": "vacancy_held", "held_until_close_of": waiting_for},
        )


def payload(waiting_for: int | None) -> dict[str, Any]:
    """What the vacancy_logged entry records of the hold (nothing for a vacancy not held)."""
    return {} if waiting_for is None else {HELD_KEY: waiting_for}


def waiting_for(logged_payload: dict[str, Any]) -> int | None:
    value = logged_payload.get(HELD_KEY)
    return None if value is None else int(value)


def hold_of(logged_payload: dict[str, Any], stage: str) -> dict[str, Any] | None:
    """The hold as the API shows it while it lasts (None otherwise)."""
    year = waiting_for(logged_payload)
    if year is None or stage != "held":
        return None
    return {
        "until_close_of": year,
        "message": (
            f"En attente de la clôture de l'année {year} : le logement sera orienté à la "
            f"clôture, avec le report des écarts de {year}, et le délai de désignation courra "
            "à partir de ce jour-là."
        ),
    }


def orient_held(
    session: Session,
    actor: Actor,
    scope: Scope,
    year: int,
    today: date | None = None,
    refused: list[alerts.Draft] | None = None,
) -> list[int]:
    """Orient the scope's vacancies of `year` held for the close of `year - 1`, in
    availability-date order (call under the scope lock, after the close's carry-over entries).
    Returns their ids. A held vacancy withdrawn meanwhile stays unoriented. One that the rules
    cannot orient (no right left to receive it, a rule that does not apply) stays held, with a
    `held_refused` alert in `refused` for the landlord: it never stops the close, nor the other
    held vacancies, nor other scopes' closes."""
    from flux.services import vacancies  # the vacancy service imports this module

    logged = list(
        session.scalars(
            sa.select(JournalEntry)
            .where(
                JournalEntry.landlord_id == scope.landlord_id,
                JournalEntry.departement_code == scope.departement,
                JournalEntry.kind == Kind.VACANCY_LOGGED,
                JournalEntry.period == year,
                JournalEntry.payload[HELD_KEY].as_integer() == year - 1,
            )
            .order_by(JournalEntry.effective_date, JournalEntry.id)
        )
    )
    if not logged:
        return []
    done = set(
        session.scalars(
            sa.select(JournalEntry.vacancy_id).where(
                JournalEntry.vacancy_id.in_([e.id for e in logged]),
                JournalEntry.kind.in_([Kind.ORIENTATION, Kind.WITHDRAWAL]),
            )
        )
    )
    rule = allocation_book.lock(session, scope)  # taken already by the close: re-entrant
    waiting = [entry for entry in logged if entry.id not in done]
    if not waiting:
        return []
    if year in allocation_book.closed_years(session, scope, rule):
        # Its own year closed while it waited (refused at every try): deciding it now would
        # change a closed year's figures. It stays held, for the landlord to withdraw.
        if refused is not None:
            closed = ServiceError(f"l'année {year} est clôturée")
            refused += [_refusal(entry, scope, year, closed) for entry in waiting]
        return []
    conventions = scope_conventions.load(session, scope.landlord_id, scope.departement)
    day = today or clock.today()
    oriented = []
    for entry in waiting:
        book = allocation_book.load(session, scope, year, rule)  # carry-ins included
        vacancy = vacancy_from_payload(entry.id, entry.payload)
        data = vacancies.NewVacancy(
            available_on=entry.effective_date,
            dwelling_id=entry.dwelling_id,
            notified_on=max(entry.effective_date, day),  # the full delay from this day
        )
        try:
            with session.begin_nested():  # a refusal writes nothing
                decision = allocation.propose(book.state, vacancy)
                orientation = vacancies.orientation_entry(
                    session, actor, entry, vacancy, decision, conventions, data
                )
        except (DomainError, ServiceError) as error:  # it stays held; retried every night
            if refused is not None:
                refused.append(_refusal(entry, scope, year, error))
            continue
        allocation_book.record(session, scope, [orientation])
        oriented.append(entry.id)
    return oriented


def retry_waiting(
    session: Session, actor: Actor, today: date, refused: list[alerts.Draft] | None = None
) -> list[int]:
    """Orient the held vacancies whose awaited year is closed but that the close could not
    orient (refused by the rules then: no right left, a rule that did not apply). The
    scheduler's nightly `deadlines` job calls it, so that a vacancy is oriented as soon as the
    conventions allow it. Returns the ids oriented."""
    decided = aliased(JournalEntry)  # its orientation or its withdrawal ends the wait
    held = (
        sa.select(JournalEntry.landlord_id, JournalEntry.departement_code, JournalEntry.period)
        .where(
            JournalEntry.kind == Kind.VACANCY_LOGGED,
            JournalEntry.payload[HELD_KEY].as_integer().is_not(None),
            ~sa.exists().where(
                decided.vacancy_id == JournalEntry.id,
                decided.kind.in_([Kind.ORIENTATION, Kind.WITHDRAWAL]),
            ),
        )
        .distinct()
    )
    oriented: list[int] = []
    for landlord_id, departement, period in session.execute(held).all():
        scope = Scope(landlord_id, departement)
        year = int(period)
        rule = allocation_book.lock(session, scope)
        if year - 1 not in allocation_book.closed_years(session, scope, rule):
            continue  # still waiting for its close, as designed
        oriented += orient_held(session, actor, scope, year, today, refused)
    return oriented


def _refusal(entry: JournalEntry, scope: Scope, year: int, error: Exception) -> alerts.Draft:
    detail = getattr(error, "detail", None) or getattr(error, "message", None) or str(error)
    return alerts.Draft(
        key=f"held_refused:{entry.id}",
        kind="held_refused",
        message=(
            f"Libération n° {entry.id} du {entry.effective_date:%d/%m/%Y}, en attente de la "
            f"clôture de {year - 1} : les règles ne permettent pas de l'orienter ({detail}). "
            "Elle reste en attente : Flux la réessaie chaque nuit et l'oriente dès que les "
            "conventions le permettent ; sinon, retirez-la."
        ),
        landlord_id=scope.landlord_id,
        departement=scope.departement,
        figures={"vacancy": entry.id, "year": year},
    )
