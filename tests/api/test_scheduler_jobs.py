"""Scheduled jobs driven with a fixed date (issue 6): what each leaves in the journal and the
alerts, and that running a job twice for the same period changes nothing the second time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flux.cli import main
from flux.models import Alert, JobRun, JournalEntry
from flux.scheduler import jobs
from flux.services import deadlines
from flux.services.errors import Conflict

from .conftest import assert_problem, share
from .vacancy_kit import (
    LANDLORD,
    OPH,
    TOULOUSE,
    action_logement,
    create_convention,
    create_dwelling,
    holder,
    logged,
    recorded,
)


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def al_vacancy(client, oph) -> dict:
    """A vacancy oriented to Action Logement (30-day designation deadline) on 2025-10-01."""
    al = action_logement(client, oph, "50.00")
    dwelling = create_dwelling(client, oph, "J0000001", TOULOUSE)
    vacancy = logged(client, oph, dwelling, "2025-10-01", orient_to=al, reason="test")
    assert holder(vacancy) == al
    return {"share": al, "vacancy": vacancy}


def kinds(session, vacancy_id: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(JournalEntry.kind)
            .where(JournalEntry.vacancy_id == vacancy_id)
            .order_by(JournalEntry.id)
        )
    )


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_missed_designation_deadline_becomes_a_carence(session, al_vacancy):
    vacancy_id = al_vacancy["vacancy"]["id"]
    assert jobs.run(session, "deadlines", date(2025, 10, 31)).summary["carences"] == 0
    outcome = jobs.run(session, "deadlines", date(2025, 11, 15))
    assert outcome.status == "succeeded" and outcome.summary["carences"] == 1
    carence = session.scalar(
        sa.select(JournalEntry).where(
            JournalEntry.vacancy_id == vacancy_id, JournalEntry.kind == "carence"
        )
    )
    assert carence.effective_date == date(2025, 11, 1)  # the day after the deadline
    assert carence.payload["counted"] is True  # the convention's default policy
    # The same period again: nothing; the next day: nothing left to do.
    entries = count(session, JournalEntry)
    assert jobs.run(session, "deadlines", date(2025, 11, 15)).status == "skipped"
    assert jobs.run(session, "deadlines", date(2025, 11, 16)).summary["carences"] == 0
    assert count(session, JournalEntry) == entries


def test_a_cal_refusal_becomes_a_take_back_after_the_second_delay(client, oph, session, al_vacancy):
    vacancy_id = al_vacancy["vacancy"]["id"]
    recorded(client, oph, vacancy_id, "designation", "2025-10-10", candidates=3)
    recorded(client, oph, vacancy_id, "cal_refusal", "2025-10-20")
    assert jobs.run(session, "deadlines", date(2025, 11, 4)).summary["take_backs"] == 0
    assert jobs.run(session, "deadlines", date(2025, 11, 5)).summary["take_backs"] == 1
    assert kinds(session, vacancy_id)[-1] == "take_back"


def test_a_designated_vacancy_gets_no_carence(client, oph, session, al_vacancy):
    vacancy_id = al_vacancy["vacancy"]["id"]
    recorded(client, oph, vacancy_id, "designation", "2025-10-10", candidates=3)
    assert deadlines.expire(session, date(2025, 12, 31)) == []


def test_the_year_close_job_closes_last_year_once(session, al_vacancy):
    outcome = jobs.run(session, "year-close", date(2026, 1, 1))
    assert outcome.status == "succeeded" and outcome.period == "2025"
    assert len(outcome.summary["closed"]) == 1
    entries = count(session, JournalEntry)
    assert jobs.run(session, "year-close", date(2026, 1, 2)).status == "skipped"
    assert count(session, JournalEntry) == entries
    closed = session.scalar(sa.select(JournalEntry).where(JournalEntry.kind == "year_closed"))
    assert closed.period == 2025


def test_the_nightly_check_flags_a_share_more_than_2_from_its_target(client, oph, session):
    al = action_logement(client, oph, "50.00")
    for n in range(6):  # the landlord keeps them all: AL is 3 behind
        dwelling = create_dwelling(client, oph, f"K{n:07d}", TOULOUSE)
        logged(client, oph, dwelling, f"2026-0{n + 1}-10", orient_to=LANDLORD, reason="test")
    outcome = jobs.run(session, "nightly-check", date(2026, 7, 1))
    assert outcome.summary["new_alerts"] == 2  # AL −3, and the landlord part +3
    gap = session.scalar(sa.select(Alert).where(Alert.kind == "gap", Alert.share_id == al))
    assert gap.figures["gap"] == "-3.00" and gap.reserver_id is not None
    assert not session.scalar(sa.select(Alert).where(Alert.kind == "invariant"))
    # The next night: the same subjects raise nothing new.
    assert jobs.run(session, "nightly-check", date(2026, 7, 2)).summary["new_alerts"] == 0
    assert count(session, Alert) == 2


def test_expiring_conventions_and_ended_guarantees_are_listed(client, oph, session):
    create_convention(
        client,
        oph,
        "AL",
        "action-logement",
        [share("salaries", "20.00")],
        valid_until="2026-03-31",
    )
    create_convention(
        client,
        oph,
        "TLSE",
        "commune-toulouse",
        [share("garantie", "10.00", guarantee_backed=True, ends_on="2025-12-31")],
        perimeter={"kind": "communes", "communes": [TOULOUSE]},
    )
    outcome = jobs.run(session, "expiring-conventions", date(2026, 1, 15))
    assert outcome.summary["new_alerts"] == 2
    found = {a.kind: a for a in session.scalars(sa.select(Alert))}
    assert "31/03/2026" in found["convention_expiring"].message
    assert found["guarantee_ended"].figures == {"ends_on": "2025-12-31"}
    assert jobs.run(session, "expiring-conventions", date(2026, 1, 16)).summary["new_alerts"] == 0


def test_a_failed_run_is_recorded_and_retried(session, al_vacancy, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(deadlines, "expire", broken)
    assert jobs.run(session, "deadlines", date(2025, 11, 15)).status == "failed"
    run = session.scalar(sa.select(JobRun))
    assert run.status == "failed" and run.error.startswith("RuntimeError")
    monkeypatch.undo()
    assert jobs.run(session, "deadlines", date(2025, 11, 15)).status == "succeeded"
    assert count(session, JobRun) == 1


def test_flux_jobs_run_as_of_a_date(database_url, monkeypatch, session, al_vacancy):
    session.commit()
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)

    def flux(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    result = flux("jobs", "run", "deadlines", "--today", "2025-11-15")
    assert result.exit_code == 0 and "terminée" in result.output
    again = flux("jobs", "run", "deadlines", "--today", "2025-11-15")
    assert "déjà faite" in again.output
    assert "deadlines" in flux("jobs", "run", "--help").output


def test_alerts_and_job_runs_are_read_as_their_subjects_allow(client, oph, auth, session):
    al = action_logement(client, oph, "50.00")
    for n in range(6):
        dwelling = create_dwelling(client, oph, f"K{n:07d}", TOULOUSE)
        logged(client, oph, dwelling, f"2026-0{n + 1}-10", orient_to=LANDLORD, reason="test")
    jobs.run(session, "nightly-check", date(2026, 7, 1))
    session.commit()

    def alert_shares(headers) -> set:
        response = client.get("/api/v1/alerts", headers=headers)
        assert response.status_code == 200
        return {a["share_id"] for a in response.get_json()}

    assert alert_shares(oph) == {al, None}
    assert alert_shares(auth("reserver", "action-logement")) == {al}
    assert alert_shares(auth("reserver", "commune-toulouse")) == set()
    assert alert_shares(auth("landlord", "esh-demo-pastel")) == set()
    assert alert_shares(auth("prefecture", "etat-31")) == {al, None}
    assert_problem(client.get("/api/v1/job-runs", headers=oph), 403)
    runs = client.get("/api/v1/job-runs", headers=auth("admin")).get_json()
    assert [(r["job"], r["status"]) for r in runs] == [("nightly-check", "succeeded")]
    assert_problem(client.get("/api/v1/alerts?kind=nope", headers=oph), 422)


def test_an_overdue_vacancy_of_a_closed_year_gets_a_late_carence(client, oph, session):
    al = action_logement(client, oph, "50.00", valid_from="2024-01-01")
    dwelling = create_dwelling(client, oph, "J0000009", TOULOUSE)
    old = logged(client, oph, dwelling, "2024-10-01", orient_to=al, reason="test")
    # The scheduler was never run: its first catch-up closes 2024 and 2025 first.
    assert jobs.run(session, "year-close", date(2026, 1, 5)).status == "succeeded"
    outcome = jobs.run(session, "deadlines", date(2026, 1, 5))
    assert outcome.status == "succeeded" and outcome.summary["carences"] == 1
    carence = session.scalar(
        sa.select(JournalEntry).where(
            JournalEntry.vacancy_id == old["id"], JournalEntry.kind == "carence"
        )
    )
    assert carence.effective_date == date(2026, 1, 1)  # the first day of the open year


def test_one_vacancy_the_rules_refuse_does_not_stop_the_others(
    client, oph, session, al_vacancy, monkeypatch
):
    other = logged(
        client,
        oph,
        create_dwelling(client, oph, "J0000002", TOULOUSE),
        "2025-10-02",
        orient_to=al_vacancy["share"],
        reason="test",
    )
    real = deadlines.vacancy_events.record

    def refusing(session_, actor, vacancy_id, data, today=None):
        if vacancy_id == al_vacancy["vacancy"]["id"]:
            raise Conflict("Refus simulé.")
        return real(session_, actor, vacancy_id, data, today=today)

    monkeypatch.setattr(deadlines.vacancy_events, "record", refusing)
    outcome = jobs.run(session, "deadlines", date(2025, 11, 15))
    assert outcome.status == "succeeded"
    assert (outcome.summary["carences"], outcome.summary["refused"]) == (1, 1)
    assert kinds(session, other["id"])[-1] == "carence"
    alert = session.scalar(sa.select(Alert).where(Alert.kind == "deadline_refused"))
    assert "Refus simulé" in alert.message


def test_a_run_left_running_by_a_dead_process_is_taken_over(session, al_vacancy):
    stale = datetime.now(UTC) - jobs.STALE_AFTER - timedelta(minutes=1)
    session.add(
        JobRun(
            job="deadlines",
            period="2025-11-15",
            run_for=date(2025, 11, 15),
            status="running",
            started_at=stale,
            summary={},
        )
    )
    session.commit()
    assert jobs.run(session, "deadlines", date(2025, 11, 15)).status == "succeeded"
    # A recent one is not: it may still be running elsewhere.
    session.add(
        JobRun(
            job="deadlines",
            period="2025-11-16",
            run_for=date(2025, 11, 16),
            status="running",
            summary={},
        )
    )
    session.commit()
    assert jobs.run(session, "deadlines", date(2025, 11, 16)).status == "skipped"


def test_a_failed_run_records_no_sql(session, al_vacancy, monkeypatch):
    def broken(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT secret FROM t WHERE x = ?", ("valeur",), None)

    monkeypatch.setattr(deadlines, "expire", broken)
    assert jobs.run(session, "deadlines", date(2025, 11, 15)).status == "failed"
    error = session.scalar(sa.select(JobRun.error))
    assert error.startswith("OperationalError") and "secret" not in error


def test_a_year_closed_by_another_process_while_deadlines_run_still_gets_its_carence(
    al_vacancy, session, database_url, monkeypatch
):
    """The deadlines job and the year-close job run side by side (two scheduler processes): a
    close committed after the job read the overdue vacancy but before it took the scope's
    lock must be seen under the lock, and the carence dated in the open year, not refused."""
    from flux import create_app
    from flux.db import db
    from flux.services import allocation_book, year_close
    from flux.services.access import SYSTEM

    other = create_app({"ENV": "test", "DATABASE_URL": database_url, "TESTING": True})
    lock = allocation_book.lock
    closed = []

    def lock_after_another_close(own_session, scope):
        if not closed:  # the other process closes 2025 first, and commits
            closed.append(scope)  # (the close takes the lock too: once is enough)
            with other.app_context():
                year_close.close(db.session, SYSTEM, scope, 2025, date(2026, 1, 5))
                db.session.commit()
                db.session.close()
                db.engine.dispose()
        return lock(own_session, scope)

    monkeypatch.setattr(allocation_book, "lock", lock_after_another_close)
    refused: list = []
    done = deadlines.expire(session, date(2026, 1, 5), refused=refused)
    session.commit()

    assert closed and refused == []
    assert [(d.event, d.on) for d in done] == [("carence", date(2026, 1, 1))]
    assert kinds(session, al_vacancy["vacancy"]["id"])[-1] == "carence"
