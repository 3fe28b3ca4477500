"""What may happen to a vacancy after its orientation (domain.md §5), as a pure state machine.

A vacancy's stage is never stored: it is replayed from its journal events with `advance`.
Impossible transitions raise `TransitionRefused` with a French message naming the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from flux.domain.errors import DomainError


class Stage(StrEnum):
    HELD = "held"  # logged, oriented when the previous year closes (with its carry-over)
    DEDUCTED = "deducted"  # out of the base: let for its internal purpose
    ORIENTED = "oriented"  # waiting for candidates (the reserver's, or the landlord's own)
    DESIGNATED = "designated"  # the reserver proposed candidates
    CAL_REFUSED = "cal_refused"  # the CALEOL refused every candidate
    TAKEN_BACK = "taken_back"  # the landlord lets the dwelling itself this turn
    ATTRIBUTED = "attributed"  # the CALEOL attributed it to a ranked candidate
    LEASED = "leased"  # lease signed: closed
    WITHDRAWN = "withdrawn"  # left the base (the tenant stays): closed


class Event(StrEnum):
    OVERRIDE = "override"
    DESIGNATION = "designation"
    CAL_ATTRIBUTION = "cal_attribution"
    CAL_REFUSAL = "cal_refusal"
    CARENCE = "carence"  # missed designation deadline: the landlord takes the dwelling back
    TAKE_BACK = "take_back"  # after a CAL refusal, once the second delay has passed
    LEASE = "lease"
    WITHDRAWAL = "withdrawal"


STAGE_LABELS = {
    Stage.HELD: "en attente de la clôture de l'année précédente",
    Stage.DEDUCTED: "soustrait du flux",
    Stage.ORIENTED: "orienté, en attente de candidats",
    Stage.DESIGNATED: "candidats désignés",
    Stage.CAL_REFUSED: "candidats refusés par la CALEOL",
    Stage.TAKEN_BACK: "repris par le bailleur pour ce tour",
    Stage.ATTRIBUTED: "attribué par la CALEOL",
    Stage.LEASED: "bail signé",
    Stage.WITHDRAWN: "retiré",
}

EVENT_LABELS = {
    Event.OVERRIDE: "une réorientation par le bailleur",
    Event.DESIGNATION: "une désignation de candidats",
    Event.CAL_ATTRIBUTION: "une attribution en CALEOL",
    Event.CAL_REFUSAL: "un refus de la CALEOL",
    Event.CARENCE: "un constat de carence",
    Event.TAKE_BACK: "une reprise après refus de la CALEOL",
    Event.LEASE: "une signature de bail",
    Event.WITHDRAWAL: "un retrait",
}

# Events a correction may reverse; the others change the orientation and have their own
# compensating events (override, withdrawal).
CORRECTABLE = frozenset({Event.DESIGNATION, Event.CAL_ATTRIBUTION, Event.CAL_REFUSAL, Event.LEASE})

_CLOSED = frozenset({Stage.LEASED, Stage.WITHDRAWN})
_ALWAYS = {Event.WITHDRAWAL: Stage.WITHDRAWN}
_FOR_RESERVER = {
    Stage.ORIENTED: {
        Event.OVERRIDE: Stage.ORIENTED,
        Event.DESIGNATION: Stage.DESIGNATED,
        Event.CARENCE: Stage.TAKEN_BACK,
    },
    Stage.DESIGNATED: {
        Event.DESIGNATION: Stage.DESIGNATED,
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.CAL_REFUSAL: Stage.CAL_REFUSED,
    },
    Stage.CAL_REFUSED: {Event.DESIGNATION: Stage.DESIGNATED, Event.TAKE_BACK: Stage.TAKEN_BACK},
}
_FOR_LANDLORD = {
    Stage.ORIENTED: {
        Event.OVERRIDE: Stage.ORIENTED,
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.CAL_REFUSAL: Stage.ORIENTED,
    },
}
_COMMON = {
    Stage.TAKEN_BACK: {
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.CAL_REFUSAL: Stage.TAKEN_BACK,
    },
    # A refused offer passes to the next ranked candidate: a new attribution.
    Stage.ATTRIBUTED: {Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED, Event.LEASE: Stage.LEASED},
    # A deducted vacancy is let for its internal purpose (a mutation, an ANRU/ORCOD
    # rehousing…): its CALEOL attribution and lease are recorded for the bilan of rehousings
    # and the quartile objectives (R.441-5, L.441-1), without entering the flux.
    Stage.DEDUCTED: {Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED, Event.LEASE: Stage.LEASED},
}


class TransitionRefused(DomainError):
    """An event that cannot happen to the vacancy in its present stage or on that date."""

    def __init__(self, message: str, figures: dict[str, str | int] | None = None) -> None:
        super().__init__(message, figures)
        self.rule = "lifecycle"
        self.field = "type"


@dataclass(frozen=True)
class Lifecycle:
    """A vacancy's stage and the dates its next events are checked against."""

    stage: Stage
    held_by_landlord: bool  # oriented to the landlord's own part (or deducted)
    available_on: date
    last_event_on: date
    designation_deadline: date | None  # for a reserver's share: last day to designate
    refusal_delay_days: int
    refused_on: date | None = None

    @property
    def closed(self) -> bool:
        return self.stage in _CLOSED

    @property
    def redesignation_deadline(self) -> date | None:
        """After a CAL refusal, the last day the reserver may propose again."""
        if self.refused_on is None:
            return None
        return self.refused_on + timedelta(days=self.refusal_delay_days)


def start(
    available_on: date,
    *,
    deducted: bool,
    held_by_landlord: bool,
    deadline_days: int,
    refusal_delay_days: int,
    notified_on: date | None = None,
    held: bool = False,
) -> Lifecycle:
    """The lifecycle of a vacancy just logged (and oriented, unless deducted or held).

    The designation delay runs from the day the reserver was told (`notified_on`: the day a
    late vacancy was logged, or the date the landlord gives), never from an availability date
    already past: a reserver always has its full delay before a carence. A held vacancy
    (its previous year not closed yet) has no holder and no deadline: it may only be
    withdrawn until the close orients it."""
    if held:
        return Lifecycle(Stage.HELD, False, available_on, available_on, None, refusal_delay_days)
    reserved = not (deducted or held_by_landlord)
    told = max(available_on, notified_on) if notified_on is not None else available_on
    return Lifecycle(
        stage=Stage.DEDUCTED if deducted else Stage.ORIENTED,
        held_by_landlord=not reserved,
        available_on=available_on,
        last_event_on=available_on,
        designation_deadline=told + timedelta(days=deadline_days) if reserved else None,
        refusal_delay_days=refusal_delay_days,
    )


def reoriented(
    lifecycle: Lifecycle, *, to_landlord: bool, deadline_days: int, refusal_delay_days: int
) -> Lifecycle:
    """After an override: a new holder, with its own delays (the new holder's convention's);
    for a reserver a new designation deadline from the override's date."""
    deadline = None if to_landlord else lifecycle.last_event_on + timedelta(days=deadline_days)
    return replace(
        lifecycle,
        held_by_landlord=to_landlord,
        designation_deadline=deadline,
        refusal_delay_days=refusal_delay_days,
    )


def allowed(lifecycle: Lifecycle) -> dict[Event, Stage]:
    """The events the vacancy accepts now, with the stage each leads to."""
    if lifecycle.closed:
        return {}
    table = _FOR_LANDLORD if lifecycle.held_by_landlord else _FOR_RESERVER
    return {**table.get(lifecycle.stage, {}), **_COMMON.get(lifecycle.stage, {}), **_ALWAYS}


def advance(lifecycle: Lifecycle, event: Event, on: date) -> Lifecycle:
    """The lifecycle after `event` on `on`; raises TransitionRefused if it cannot happen."""
    options = allowed(lifecycle)
    if event not in options:
        raise TransitionRefused(
            f"Impossible d'enregistrer {EVENT_LABELS[event]} : le logement est à l'étape "
            f"« {STAGE_LABELS[lifecycle.stage]} ». {possible_events(lifecycle)}",
            {"stage": str(lifecycle.stage), "event": str(event)},
        )
    if on < lifecycle.last_event_on:
        raise TransitionRefused(
            f"Date du {on:%d/%m/%Y} antérieure au dernier événement du logement "
            f"({lifecycle.last_event_on:%d/%m/%Y}).",
            {"date": on.isoformat(), "last_event_on": lifecycle.last_event_on.isoformat()},
        )
    _check_deadlines(lifecycle, event, on)
    stage = options[event]
    return replace(
        lifecycle,
        stage=stage,
        last_event_on=on,
        refused_on=on if stage is Stage.CAL_REFUSED else None,
        held_by_landlord=lifecycle.held_by_landlord or event in (Event.CARENCE, Event.TAKE_BACK),
    )


def possible_events(lifecycle: Lifecycle) -> str:
    """The events the vacancy accepts now, in French words (the API keeps their codes)."""
    options = allowed(lifecycle)
    if options:
        labels = ", ".join(EVENT_LABELS[e] for e in sorted(options))
        return f"Événements possibles : {labels}."
    if lifecycle.stage is Stage.LEASED:
        return (
            "Plus aucun événement possible, sauf la correction du bail s'il a été saisi par erreur."
        )
    return "Plus aucun événement possible."


def _check_deadlines(lifecycle: Lifecycle, event: Event, on: date) -> None:
    deadline = lifecycle.designation_deadline
    if lifecycle.stage is Stage.ORIENTED and deadline is not None:
        if event is Event.DESIGNATION and on > deadline:
            _late("La désignation", deadline, on)
        if event is Event.CARENCE and on <= deadline:
            _early("La carence", deadline, on)
    second = lifecycle.redesignation_deadline
    if lifecycle.stage is Stage.CAL_REFUSED and second is not None:
        if event is Event.DESIGNATION and on > second:
            _late("La nouvelle désignation", second, on)
        if event is Event.TAKE_BACK and on <= second:
            _early("La reprise", second, on)


def _late(what: str, deadline: date, on: date) -> None:
    raise TransitionRefused(
        f"{what} du {on:%d/%m/%Y} arrive après le délai, échu le {deadline:%d/%m/%Y}.",
        {"deadline": deadline.isoformat(), "date": on.isoformat()},
    )


def _early(what: str, deadline: date, on: date) -> None:
    raise TransitionRefused(
        f"{what} ne peut être constatée qu'après le délai, qui court jusqu'au "
        f"{deadline:%d/%m/%Y} inclus (date demandée : {on:%d/%m/%Y}).",
        {"deadline": deadline.isoformat(), "date": on.isoformat()},
    )


# A vacancy may be logged ahead of its date: a tenant's notice of departure runs up to three
# months. Beyond that the date is a typing mistake, and it would consume future targets.
NOTICE_DAYS = 92


class DateRefused(DomainError):
    """A business date the rules do not accept yet (in the future, or too far ahead)."""

    def __init__(self, message: str, field: str, figures: dict[str, str | int]) -> None:
        super().__init__(message, figures)
        self.rule = "date"
        self.field = field


def check_available_on(available_on: date, today: date) -> None:
    """A vacancy is logged at most NOTICE_DAYS before it becomes available."""
    if available_on > today + timedelta(days=NOTICE_DAYS):
        raise DateRefused(
            f"Date de disponibilité trop lointaine : au plus {NOTICE_DAYS} jours après "
            f"aujourd'hui ({today:%d/%m/%Y}).",
            "available_on",
            {"available_on": available_on.isoformat(), "today": today.isoformat()},
        )


def check_event_date(on: date, today: date) -> None:
    """An event is recorded the day it happens or later, never ahead of time."""
    if on > today:
        raise DateRefused(
            "Un événement ne peut pas être daté dans le futur : enregistrez-le le jour venu.",
            "date",
            {"date": on.isoformat(), "today": today.isoformat()},
        )


def overdue(lifecycle: Lifecycle, today: date) -> tuple[Event, date] | None:
    """The event time has made due by `today`, and the first day it could be recorded: a
    carence once the designation deadline has passed without designation, a take-back once
    the second delay after a CAL refusal has passed; None when nothing is due."""
    if lifecycle.held_by_landlord or lifecycle.closed:
        return None
    deadline = lifecycle.designation_deadline
    if lifecycle.stage is Stage.ORIENTED and deadline is not None and deadline < today:
        return Event.CARENCE, max(deadline + timedelta(days=1), lifecycle.last_event_on)
    second = lifecycle.redesignation_deadline
    if lifecycle.stage is Stage.CAL_REFUSED and second is not None and second < today:
        return Event.TAKE_BACK, max(second + timedelta(days=1), lifecycle.last_event_on)
    return None
