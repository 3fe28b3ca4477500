"""The vacancy lifecycle after orientation (domain.md §5) as a pure state machine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from flux.domain import lifecycle
from flux.domain.lifecycle import (
    EVENT_LABELS,
    STAGE_LABELS,
    Event,
    Lifecycle,
    Stage,
    TransitionRefused,
    advance,
    allowed,
    reoriented,
    start,
)

AVAILABLE = date(2025, 3, 1)
DEADLINE_DAYS, REFUSAL_DAYS = 30, 15
DEADLINE = AVAILABLE + timedelta(days=DEADLINE_DAYS)  # 2025-03-31, last day to designate


def reserved() -> Lifecycle:
    return start(
        AVAILABLE,
        deducted=False,
        held_by_landlord=False,
        deadline_days=DEADLINE_DAYS,
        refusal_delay_days=REFUSAL_DAYS,
    )


def landlord_held() -> Lifecycle:
    return start(
        AVAILABLE,
        deducted=False,
        held_by_landlord=True,
        deadline_days=DEADLINE_DAYS,
        refusal_delay_days=REFUSAL_DAYS,
    )


def deducted() -> Lifecycle:
    return start(
        AVAILABLE,
        deducted=True,
        held_by_landlord=False,
        deadline_days=DEADLINE_DAYS,
        refusal_delay_days=REFUSAL_DAYS,
    )


def run(lifecycle: Lifecycle, *steps: tuple[Event, date]) -> Lifecycle:
    for event, on in steps:
        lifecycle = advance(lifecycle, event, on)
    return lifecycle


def day(month: int, dom: int) -> date:
    return date(2025, month, dom)


# Each reachable situation: how to get there from a reserver's orientation (or its start).
SITUATIONS = {
    "reserved/oriented": lambda: reserved(),
    "reserved/designated": lambda: run(reserved(), (Event.DESIGNATION, day(3, 10))),
    "reserved/cal_refused": lambda: run(
        reserved(), (Event.DESIGNATION, day(3, 10)), (Event.CAL_REFUSAL, day(3, 20))
    ),
    "reserved/taken_back": lambda: run(reserved(), (Event.CARENCE, day(4, 1))),
    "reserved/attributed": lambda: run(
        reserved(), (Event.DESIGNATION, day(3, 10)), (Event.CAL_ATTRIBUTION, day(3, 20))
    ),
    "reserved/leased": lambda: run(
        reserved(),
        (Event.DESIGNATION, day(3, 10)),
        (Event.CAL_ATTRIBUTION, day(3, 20)),
        (Event.LEASE, day(4, 1)),
    ),
    "reserved/withdrawn": lambda: run(reserved(), (Event.WITHDRAWAL, day(3, 5))),
    "landlord/oriented": lambda: landlord_held(),
    "landlord/attributed": lambda: run(landlord_held(), (Event.CAL_ATTRIBUTION, day(3, 20))),
    "deducted": lambda: deducted(),
    "deducted/leased": lambda: run(deducted(), (Event.LEASE, day(3, 20))),
}

# The whole table: the events each situation accepts and the stage each one leads to.
TABLE: dict[str, dict[Event, Stage]] = {
    "reserved/oriented": {
        Event.OVERRIDE: Stage.ORIENTED,
        Event.DESIGNATION: Stage.DESIGNATED,
        Event.CARENCE: Stage.TAKEN_BACK,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "reserved/designated": {
        Event.DESIGNATION: Stage.DESIGNATED,
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.CAL_REFUSAL: Stage.CAL_REFUSED,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "reserved/cal_refused": {
        Event.DESIGNATION: Stage.DESIGNATED,
        Event.TAKE_BACK: Stage.TAKEN_BACK,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "reserved/taken_back": {
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.CAL_REFUSAL: Stage.TAKEN_BACK,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "reserved/attributed": {
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.LEASE: Stage.LEASED,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "reserved/leased": {},
    "reserved/withdrawn": {},
    "landlord/oriented": {
        Event.OVERRIDE: Stage.ORIENTED,
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.CAL_REFUSAL: Stage.ORIENTED,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "landlord/attributed": {
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.LEASE: Stage.LEASED,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    # R.441-5 / L.441-1: a rehousing's attribution is recorded for the bilan and the quartiles.
    "deducted": {
        Event.CAL_ATTRIBUTION: Stage.ATTRIBUTED,
        Event.LEASE: Stage.LEASED,
        Event.WITHDRAWAL: Stage.WITHDRAWN,
    },
    "deducted/leased": {},
}


def valid_date(lifecycle: Lifecycle, event: Event) -> date:
    """A date on which the event satisfies its deadlines (after the last event)."""
    later = lifecycle.last_event_on + timedelta(days=1)
    if event is Event.CARENCE and lifecycle.designation_deadline is not None:
        return max(later, lifecycle.designation_deadline + timedelta(days=1))
    if event is Event.TAKE_BACK and lifecycle.redesignation_deadline is not None:
        return max(later, lifecycle.redesignation_deadline + timedelta(days=1))
    return later


PAIRS = [(situation, event) for situation in SITUATIONS for event in Event]


def test_the_situations_are_at_the_stage_their_name_says():
    stages = {name: make().stage for name, make in SITUATIONS.items()}

    assert stages == {
        "reserved/oriented": Stage.ORIENTED,
        "reserved/designated": Stage.DESIGNATED,
        "reserved/cal_refused": Stage.CAL_REFUSED,
        "reserved/taken_back": Stage.TAKEN_BACK,
        "reserved/attributed": Stage.ATTRIBUTED,
        "reserved/leased": Stage.LEASED,
        "reserved/withdrawn": Stage.WITHDRAWN,
        "landlord/oriented": Stage.ORIENTED,
        "landlord/attributed": Stage.ATTRIBUTED,
        "deducted": Stage.DEDUCTED,
        "deducted/leased": Stage.LEASED,
    }


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_allowed_lists_exactly_the_events_of_the_table(situation):
    assert allowed(SITUATIONS[situation]()) == TABLE[situation]


@pytest.mark.parametrize(
    ("situation", "event"), [pair for pair in PAIRS if pair[1] in TABLE[pair[0]]]
)
def test_an_event_of_the_table_leads_to_its_stage(situation, event):
    lifecycle = SITUATIONS[situation]()
    on = valid_date(lifecycle, event)

    after = advance(lifecycle, event, on)

    assert after.stage is TABLE[situation][event]
    assert after.last_event_on == on


@pytest.mark.parametrize(
    ("situation", "event"), [pair for pair in PAIRS if pair[1] not in TABLE[pair[0]]]
)
def test_an_event_outside_the_table_is_refused_with_a_french_message_naming_the_stage(
    situation, event
):
    lifecycle = SITUATIONS[situation]()

    with pytest.raises(TransitionRefused) as refused:
        advance(lifecycle, event, valid_date(lifecycle, event))

    message = refused.value.message
    assert message.startswith(f"Impossible d'enregistrer {EVENT_LABELS[event]}")
    assert f"à l'étape « {STAGE_LABELS[lifecycle.stage]} »" in message
    assert refused.value.figures == {"stage": str(lifecycle.stage), "event": str(event)}
    assert refused.value.rule == "lifecycle"
    assert refused.value.field == "type"


def test_nothing_happens_after_a_lease_or_a_withdrawal():
    for name in ("reserved/leased", "reserved/withdrawn", "deducted/leased"):
        lifecycle = SITUATIONS[name]()
        assert lifecycle.closed
        assert allowed(lifecycle) == {}


def test_the_refusal_lists_the_possible_events_or_none():
    with pytest.raises(TransitionRefused) as open_stage:
        advance(reserved(), Event.LEASE, day(3, 2))
    with pytest.raises(TransitionRefused) as closed:
        advance(SITUATIONS["reserved/leased"](), Event.LEASE, day(5, 1))

    assert (
        "Événements possibles : un constat de carence, une désignation de candidats, une "
        "réorientation par le bailleur, un retrait." in open_stage.value.message
    )
    assert "designation" not in open_stage.value.message  # French words, not codes
    # After a lease a correction is still accepted: the message must not say "none".
    assert closed.value.message.endswith(
        "Plus aucun événement possible, sauf la correction du bail s'il a été saisi par erreur."
    )


# --- deadlines ------------------------------------------------------------------------------


def test_a_reservers_designation_deadline_is_the_date_plus_the_conventions_delay():
    assert reserved().designation_deadline == date(2025, 3, 31)
    assert landlord_held().designation_deadline is None
    assert deducted().designation_deadline is None


def test_a_designation_on_the_deadline_is_accepted():
    assert advance(reserved(), Event.DESIGNATION, DEADLINE).stage is Stage.DESIGNATED


def test_a_designation_after_the_deadline_is_refused():
    with pytest.raises(TransitionRefused) as refused:
        advance(reserved(), Event.DESIGNATION, DEADLINE + timedelta(days=1))

    assert refused.value.message == (
        "La désignation du 01/04/2025 arrive après le délai, échu le 31/03/2025."
    )
    assert refused.value.figures == {"deadline": "2025-03-31", "date": "2025-04-01"}


def test_a_carence_before_or_on_the_deadline_is_refused():
    for on in (day(3, 15), DEADLINE):
        with pytest.raises(TransitionRefused) as refused:
            advance(reserved(), Event.CARENCE, on)
        assert "ne peut être constatée qu'après le délai" in refused.value.message
        assert refused.value.figures["deadline"] == "2025-03-31"


def test_a_carence_the_day_after_the_deadline_takes_the_dwelling_back_for_the_landlord():
    after = advance(reserved(), Event.CARENCE, DEADLINE + timedelta(days=1))

    assert after.stage is Stage.TAKEN_BACK
    assert after.held_by_landlord


def test_after_a_cal_refusal_the_reserver_may_designate_again_within_the_delay():
    refused = SITUATIONS["reserved/cal_refused"]()
    last_day = day(3, 20) + timedelta(days=REFUSAL_DAYS)

    assert refused.redesignation_deadline == last_day
    assert advance(refused, Event.DESIGNATION, last_day).stage is Stage.DESIGNATED
    with pytest.raises(TransitionRefused, match="La nouvelle désignation du 05/04/2025"):
        advance(refused, Event.DESIGNATION, last_day + timedelta(days=1))


def test_a_take_back_after_a_cal_refusal_waits_for_the_end_of_the_delay():
    refused = SITUATIONS["reserved/cal_refused"]()
    last_day = refused.redesignation_deadline

    with pytest.raises(TransitionRefused, match="La reprise ne peut être constatée"):
        advance(refused, Event.TAKE_BACK, last_day)
    after = advance(refused, Event.TAKE_BACK, last_day + timedelta(days=1))
    assert after.stage is Stage.TAKEN_BACK
    assert after.held_by_landlord


def test_a_new_designation_clears_the_refusal_and_its_delay():
    again = run(SITUATIONS["reserved/cal_refused"](), (Event.DESIGNATION, day(3, 25)))

    assert again.refused_on is None
    assert again.redesignation_deadline is None


def test_the_landlords_own_cal_refusal_keeps_the_dwelling_with_the_landlord():
    after = advance(landlord_held(), Event.CAL_REFUSAL, day(3, 10))

    assert after.stage is Stage.ORIENTED
    assert after.held_by_landlord
    assert after.redesignation_deadline is None


def test_an_event_dated_before_the_last_event_is_refused():
    designated = SITUATIONS["reserved/designated"]()  # designated on 2025-03-10

    with pytest.raises(TransitionRefused) as refused:
        advance(designated, Event.CAL_ATTRIBUTION, day(3, 9))

    assert refused.value.message == (
        "Date du 09/03/2025 antérieure au dernier événement du logement (10/03/2025)."
    )
    assert advance(designated, Event.CAL_ATTRIBUTION, day(3, 10)).stage is Stage.ATTRIBUTED


def test_an_event_dated_before_the_vacancy_is_refused():
    with pytest.raises(TransitionRefused, match="antérieure au dernier événement"):
        advance(reserved(), Event.WITHDRAWAL, AVAILABLE - timedelta(days=1))


# --- overrides --------------------------------------------------------------------------------


def test_an_override_to_another_reserver_opens_a_new_designation_deadline_from_its_date():
    overridden = advance(landlord_held(), Event.OVERRIDE, day(3, 10))

    to_reserver = reoriented(
        overridden, to_landlord=False, deadline_days=20, refusal_delay_days=REFUSAL_DAYS
    )

    assert to_reserver.stage is Stage.ORIENTED
    assert not to_reserver.held_by_landlord
    assert to_reserver.designation_deadline == day(3, 30)
    assert Event.DESIGNATION in allowed(to_reserver)


def test_after_an_override_the_new_holders_cal_refusal_delay_applies():
    overridden = advance(reserved(), Event.OVERRIDE, day(3, 2))
    to_other = reoriented(overridden, to_landlord=False, deadline_days=30, refusal_delay_days=40)

    refused = run(to_other, (Event.DESIGNATION, day(3, 5)), (Event.CAL_REFUSAL, day(3, 10)))

    assert refused.redesignation_deadline == day(4, 19)
    assert advance(refused, Event.DESIGNATION, day(4, 19)).stage is Stage.DESIGNATED


def test_an_override_to_the_landlord_part_sends_the_dwelling_straight_to_the_cal():
    overridden = advance(reserved(), Event.OVERRIDE, day(3, 10))

    to_landlord = reoriented(
        overridden, to_landlord=True, deadline_days=30, refusal_delay_days=REFUSAL_DAYS
    )

    assert to_landlord.designation_deadline is None
    assert Event.DESIGNATION not in allowed(to_landlord)
    assert Event.CAL_ATTRIBUTION in allowed(to_landlord)


def test_a_vacancy_may_be_logged_up_to_its_notice_period_ahead_not_beyond():
    today = date(2026, 3, 1)

    lifecycle.check_available_on(today + timedelta(days=lifecycle.NOTICE_DAYS), today)
    with pytest.raises(lifecycle.DateRefused, match="trop lointaine"):
        lifecycle.check_available_on(today + timedelta(days=lifecycle.NOTICE_DAYS + 1), today)


def test_an_event_may_be_dated_today_but_not_tomorrow():
    today = date(2026, 3, 1)

    lifecycle.check_event_date(today, today)
    with pytest.raises(lifecycle.DateRefused) as refused:
        lifecycle.check_event_date(today + timedelta(days=1), today)
    assert refused.value.field == "date"


def test_a_held_vacancy_has_no_deadline_and_accepts_only_a_withdrawal():
    lc = lifecycle
    held = lc.start(
        date(2026, 1, 5),
        deducted=False,
        held_by_landlord=False,
        deadline_days=30,
        refusal_delay_days=15,
        held=True,
    )
    assert held.stage is lc.Stage.HELD and held.designation_deadline is None
    assert set(lc.allowed(held)) == {lc.Event.WITHDRAWAL}
    assert lc.overdue(held, date(2027, 1, 1)) is None  # never a carence while held
    with pytest.raises(lc.TransitionRefused, match="en attente de la clôture"):
        lc.advance(held, lc.Event.DESIGNATION, date(2026, 1, 6))
    assert lc.advance(held, lc.Event.WITHDRAWAL, date(2026, 1, 6)).stage is lc.Stage.WITHDRAWN
