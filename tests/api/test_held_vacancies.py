"""Held vacancies (issue 11 item 4): a vacancy dated in a year whose previous year is not closed
yet for its scope is logged without orientation (stage `held`) and oriented when that year
closes, after the carry-over, so that its decision includes the carry-in; the designation
delay runs from the orientation day."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from flux import clock
from flux.domain.allocation import FULL
from flux.domain.reference import Role
from flux.models import JournalEntry, Organisation
from flux.scheduler import jobs
from flux.services import allocation_book, vacancies, vacancy_import, year_close
from flux.services.access import SYSTEM, Actor

from .conftest import assert_problem
from .vacancy_kit import (
    OPH,
    action_logement,
    create_dwelling,
    event,
    holder,
    log,
    logged,
    recorded,
)


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def today(monkeypatch):
    current = {"day": date(2025, 12, 15)}
    monkeypatch.setattr(clock, "today", lambda: current["day"])
    return current


@pytest.fixture
def scope(session, oph) -> allocation_book.Scope:
    landlord = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    return allocation_book.Scope(landlord, "31")


@pytest.fixture
def behind(client, oph, today) -> int:
    """Action Logement 50 %, 20 days to designate; 2025's two vacancies went to the landlord
    by override: Action Logement ends 2025 one dwelling behind (its carry-in for 2026)."""
    al = action_logement(client, oph, "50.00", policies={"designation_deadline_days": 20})
    for n, day in enumerate(("2025-03-01", "2025-06-01")):
        dwelling = create_dwelling(client, oph, f"A{n:07d}")
        vacancy = logged(
            client, oph, dwelling, day, orient_to="landlord", reason="Mutation urgente"
        )
        assert holder(vacancy) == "landlord"
    return al


def _kinds(session) -> Counter:
    session.rollback()
    return Counter(session.scalars(sa.select(JournalEntry.kind)))


def _close_2025(session, scope, on: date) -> None:
    year_close.close(session, SYSTEM, scope, 2025, on)
    session.commit()


def _get(client, headers, vacancy_id: int) -> dict:
    response = client.get(f"/api/v1/vacancies/{vacancy_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_held_at_logging_then_oriented_at_the_close_with_the_carry_in(
    client, oph, behind, session, scope, today
):
    dwelling = create_dwelling(client, oph, "H0000001")
    vacancy = logged(client, oph, dwelling, "2026-01-05")  # on 15 December 2025
    assert vacancy["stage"] == "held"
    assert vacancy["orientation"] is None and vacancy["holder"] is None
    assert vacancy["designation_deadline"] is None
    assert vacancy["allowed_events"] == ["withdrawal"]
    assert vacancy["held"]["until_close_of"] == 2025
    assert "clôture de l'année 2025" in vacancy["held"]["message"]
    assert "clôture" in vacancy["stage_label"]
    assert _kinds(session)["orientation"] == 2  # 2025's only: nothing decided yet

    # Listed under its stage.
    listed = client.get("/api/v1/vacancies", query_string={"stage": "held"}, headers=oph)
    assert [v["id"] for v in listed.get_json()] == [vacancy["id"]]

    # Only a withdrawal is possible while held: a designation is refused, in French.
    today["day"] = date(2026, 1, 6)
    refused = assert_problem(
        event(client, oph, vacancy["id"], "designation", "2026-01-06", candidates=3), 422
    )
    assert "en attente de la clôture" in refused["detail"]

    today["day"] = date(2026, 1, 10)
    _close_2025(session, scope, date(2026, 1, 10))
    after = _get(client, oph, vacancy["id"])
    assert after["stage"] == "oriented" and after["held"] is None
    assert holder(after) == behind
    line = next(ln for ln in after["orientation"]["explanation"] if ln["share_id"] == behind)
    assert line["carry_in"] == FULL  # the carry-over of 2025 was in the decision
    # The designation delay runs from the orientation day (10 January), not from 5 January.
    assert after["designation_deadline"] == "2026-01-30"
    entries = session.execute(
        sa.select(JournalEntry.id, JournalEntry.kind).where(JournalEntry.period == 2026)
    ).all()
    carry_ids = [i for i, kind in entries if kind == "carry_over"]
    orientation_id = next(i for i, kind in entries if kind == "orientation")
    assert carry_ids and orientation_id > max(carry_ids)
    # The nightly check's refold in id order finds the decision made on the state it records.
    assert allocation_book.stale_decisions(session, scope, 2026) == []

    # No carence before the full delay; the nightly job records it once it has passed.
    jobs.run(session, "deadlines", date(2026, 1, 28))
    assert _kinds(session)["carence"] == 0
    jobs.run(session, "deadlines", date(2026, 2, 1))
    assert _kinds(session)["carence"] == 1


def test_the_scheduler_close_orients_held_vacancies_in_date_order(
    client, oph, behind, session, today
):
    days = ("2026-01-20", "2026-01-03", "2026-01-12")
    ids = [
        logged(client, oph, create_dwelling(client, oph, f"H{n:07d}"), day)["id"]
        for n, day in enumerate(days)
    ]
    today["day"] = date(2026, 1, 1)
    jobs.run(session, "year-close", date(2026, 1, 1))
    session.rollback()
    orientations = session.execute(
        sa.select(JournalEntry.vacancy_id)
        .where(JournalEntry.kind == "orientation", JournalEntry.period == 2026)
        .order_by(JournalEntry.id)
    ).scalars()
    assert list(orientations) == [ids[1], ids[2], ids[0]]  # by availability date
    first = _get(client, oph, ids[1])
    assert first["stage"] == "oriented"
    assert holder(first) == behind  # its carry-in puts it first
    assert first["designation_deadline"] == "2026-01-23"  # closed before its date: from it


def test_the_first_year_of_a_scope_is_not_held(client, oph, today):
    action_logement(client, oph, "50.00")
    vacancy = logged(client, oph, create_dwelling(client, oph, "F0000001"), "2026-01-05")
    assert vacancy["stage"] == "oriented" and vacancy["held"] is None


def test_a_deduction_is_not_held(client, oph, behind, today):
    vacancy = logged(
        client,
        oph,
        create_dwelling(client, oph, "D0000001"),
        "2026-01-05",
        deduction="internal_transfer",
    )
    assert vacancy["stage"] == "deducted"


def test_a_held_vacancy_can_be_withdrawn_and_is_then_never_oriented(
    client, oph, behind, session, scope, today
):
    vacancy = logged(client, oph, create_dwelling(client, oph, "W0000001"), "2026-01-05")
    today["day"] = date(2026, 1, 6)
    after = recorded(client, oph, vacancy["id"], "withdrawal", "2026-01-06", reason="Reste")
    assert after["stage"] == "withdrawn" and after["held"] is None
    _close_2025(session, scope, date(2026, 1, 10))
    assert _get(client, oph, vacancy["id"])["orientation"] is None
    assert _kinds(session)["orientation"] == 2


def test_no_override_before_the_proposal_and_a_replay_answers_as_the_first_time(
    client, oph, behind, today
):
    dwelling = create_dwelling(client, oph, "O0000001")
    refused = log(client, oph, dwelling, "2026-01-05", orient_to="landlord", reason="Urgence")
    body = assert_problem(refused, 409)
    assert "clôture de l'année 2025" in body["detail"]
    first = log(client, oph, dwelling, "2026-01-05", key="k-held")
    assert first.status_code == 201 and first.get_json()["stage"] == "held"
    again = log(client, oph, dwelling, "2026-01-05", key="k-held")
    assert again.status_code == 200
    assert again.get_json() == first.get_json()


def test_the_bulk_import_holds_rows_whose_previous_year_is_open(
    client, oph, behind, session, scope, today
):
    for number in ("I0000001", "I0000002"):
        create_dwelling(client, oph, number)
    text = (
        "type;reference;rpls_id;available_on;date;candidates;reason;notified_on\n"
        "vacancy;dec;I0000001;2025-12-10;;;;\n"
        "vacancy;jan;I0000002;2026-01-05;;;;\n"
        "designation;jan;I0000002;;2026-01-06;3;;\n"
    )
    actor = Actor(user_id=None, role=Role.LANDLORD, organisation_id=scope.landlord_id)
    today["day"] = date(2026, 1, 8)
    report = vacancy_import.import_vacancies(
        session,
        actor,
        io.BytesIO(text.encode()),
        "f.csv",
        None,
        today=date(2026, 1, 8),
        all_or_nothing=False,
    )
    assert report.created == 2 and report.refused == 1  # no designation while held
    assert "en attente de la clôture" in report.refusals[0]["reason"]
    session.commit()
    ids = dict(
        session.execute(
            sa.select(JournalEntry.idempotency_key, JournalEntry.id).where(
                JournalEntry.kind == "vacancy_logged", JournalEntry.idempotency_key.is_not(None)
            )
        ).all()
    )
    assert vacancies.replay(session, ids["dec"]).lifecycle.stage == "oriented"
    assert vacancies.replay(session, ids["jan"]).lifecycle.stage == "held"
    _close_2025(session, scope, date(2026, 1, 9))
    state = vacancies.replay(session, ids["jan"])
    assert state.lifecycle.stage == "oriented"
    assert state.holder == behind
    assert state.lifecycle.designation_deadline == date(2026, 1, 29)


def test_a_held_vacancy_the_rules_cannot_orient_stays_held_with_an_alert_then_is_retried(
    client, oph, behind, session, today, monkeypatch
):
    """A held vacancy the engine refuses at the close (here: no right left to receive it) does
    not stop the close nor the other held vacancies: it stays held, and the landlord gets one
    `held_refused` alert; the nightly `deadlines` job tries it again and orients it once the
    rules allow, with its full designation delay from that day."""
    from flux.domain.allocation_model import AllocationError

    refused_id = logged(client, oph, create_dwelling(client, oph, "R0000001"), "2026-01-03")["id"]
    kept_id = logged(client, oph, create_dwelling(client, oph, "R0000002"), "2026-01-12")["id"]
    propose = allocation_book.allocation.propose
    refusing = {"on": True}

    def maybe_refusing(state, vacancy):
        if refusing["on"] and vacancy.vacancy_id == refused_id:
            raise AllocationError("Aucun droit ne reste pour recevoir ce logement.")
        return propose(state, vacancy)

    monkeypatch.setattr(allocation_book.allocation, "propose", maybe_refusing)
    today["day"] = date(2026, 1, 1)
    jobs.run(session, "year-close", date(2026, 1, 1))
    jobs.run(session, "deadlines", date(2026, 1, 2))  # still refused: still one alert
    session.rollback()

    assert _get(client, oph, kept_id)["stage"] == "oriented"
    assert _get(client, oph, refused_id)["stage"] == "held"
    alerts = client.get("/api/v1/alerts", query_string={"kind": "held_refused"}, headers=oph)
    assert alerts.status_code == 200
    [alert] = alerts.get_json()
    assert alert["figures"] == {"vacancy": refused_id, "year": 2026}
    assert "Aucun droit ne reste" in alert["message"]
    assert f"n° {refused_id} du 03/01/2026" in alert["message"]
    assert "réessaie chaque nuit" in alert["message"]

    refusing["on"] = False  # the conventions now allow it
    today["day"] = date(2026, 1, 3)
    jobs.run(session, "deadlines", date(2026, 1, 3))
    session.rollback()
    after = _get(client, oph, refused_id)
    assert after["stage"] == "oriented"
    assert after["designation_deadline"] == "2026-01-23"  # 20 days from its orientation day
    orientations = session.scalars(
        sa.select(JournalEntry.id).where(
            JournalEntry.kind == "orientation", JournalEntry.vacancy_id == refused_id
        )
    ).all()
    assert len(orientations) == 1
    jobs.run(session, "deadlines", date(2026, 1, 4))  # nothing left to retry
    session.rollback()
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(
                JournalEntry.kind == "orientation", JournalEntry.vacancy_id == refused_id
            )
        )
        == 1
    )
