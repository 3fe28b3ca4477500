"""Late logging (issue 11 item 4): a vacancy logged after its availability date gets its
designation deadline from the day it was logged (or the date the landlord gives), never a
deadline already past; no carence before the reserver has had its full delay."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from flux import clock
from flux.models import JournalEntry
from flux.scheduler import jobs

from .conftest import assert_problem
from .vacancy_kit import OPH, action_logement, create_dwelling, event, log, logged

LOGGED_ON = date(2025, 12, 4)


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def today(monkeypatch):
    """clock.today(), movable by the test."""
    current = {"day": LOGGED_ON}
    monkeypatch.setattr(clock, "today", lambda: current["day"])
    return current


@pytest.fixture
def home(client, oph, today) -> int:
    """Action Logement holds 100 % of the département, 20 days to designate."""
    action_logement(client, oph, percent="100.00", policies={"designation_deadline_days": 20})
    return create_dwelling(client, oph, "L0000001")


def _carences(session) -> int:
    session.rollback()
    kinds = Counter(session.scalars(sa.select(JournalEntry.kind)))
    return kinds["carence"]


def test_a_vacancy_logged_months_late_gets_its_deadline_from_the_day_it_was_logged(
    client, oph, home, session, today
):
    vacancy = logged(client, oph, home, "2025-03-01", notified_on=None)  # on 4 December

    assert vacancy["designation_deadline"] == "2025-12-24"  # not 21 March
    assert vacancy["stage"] == "oriented"
    # A carence before the reserver has had its 20 days is refused...
    today["day"] = date(2025, 12, 10)
    refused = assert_problem(event(client, oph, vacancy["id"], "carence", "2025-12-10"), 422)
    assert "24/12/2025" in refused["detail"]
    # ...and the nightly job records none.
    jobs.run(session, "deadlines", date(2025, 12, 10))
    assert _carences(session) == 0
    # Once the full delay has passed, the job records it.
    jobs.run(session, "deadlines", date(2025, 12, 26))
    assert _carences(session) == 1


def test_the_landlord_may_say_when_the_reserver_was_told(client, oph, home, today):
    vacancy = logged(client, oph, home, "2025-03-01", notified_on="2025-11-30")
    assert vacancy["designation_deadline"] == "2025-12-20"
    bad = log(
        client,
        oph,
        create_dwelling(client, oph, "L0000002"),
        "2025-03-01",
        notified_on="2025-02-01",
    )
    assert "notified_on" in assert_problem(bad, 422)["errors"]["json"]


def test_a_vacancy_logged_on_time_keeps_its_deadline(client, oph, home, today):
    vacancy = logged(client, oph, home, "2025-12-04", notified_on=None)
    assert vacancy["designation_deadline"] == "2025-12-24"
    ahead = logged(
        client, oph, create_dwelling(client, oph, "L0000003"), "2025-12-20", notified_on=None
    )
    assert ahead["designation_deadline"] == "2026-01-09"  # from its date, not from today
