"""The jobs, each idempotent and recorded in `job_runs`, unique per job and period.

A run first claims its period by inserting its `job_runs` row in a transaction of its own: a
second scheduler, or the same job started again for the same period, finds the row and does
nothing. A failed run leaves its row `failed`; the next attempt for that period takes it over
(compare-and-set on the status). The work and the row's `succeeded` are committed together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.models import JobRun
from flux.services import (
    alerts,
    bilan_campaign,
    deadlines,
    deduction_forecast_alerts,
    expiring,
    held_vacancies,
    nightly_check,
    notification_delivery,
    notifications,
    year_close,
)
from flux.services.access import SYSTEM
from flux.services.mail import Sender

log = logging.getLogger("flux.scheduler")
STALE_AFTER = timedelta(hours=6)  # longer than any job takes


@dataclass(frozen=True)
class Job:
    name: str
    description: str  # French, for --help and the README
    period: Callable[[date], str | None]  # None: nothing to do on that date
    work: Callable[[Session, date, JobRun], dict[str, Any]]


@dataclass(frozen=True)
class Outcome:
    job: str
    period: str | None
    status: str  # succeeded, failed, skipped (already done / running), idle (not due)
    summary: dict[str, Any]
    run_id: int | None = None


def _daily(today: date) -> str:
    return today.isoformat()


def _previous_year(today: date) -> str:
    return str(today.year - 1)


def _deadlines(session: Session, today: date, run: JobRun) -> dict[str, Any]:
    refused: list[alerts.Draft] = []
    # Held vacancies the year's close could not orient: tried again every night.
    held_refused: list[alerts.Draft] = []
    held = held_vacancies.retry_waiting(session, SYSTEM, today, held_refused)
    done = deadlines.expire(session, today, refused=refused)
    return {
        "carences": sum(1 for d in done if d.event == "carence"),
        "take_backs": sum(1 for d in done if d.event == "take_back"),
        "refused": len(refused),
        "held_oriented": len(held),
        "held_refused": len(held_refused),
        "new_alerts": alerts.raise_all(session, refused + held_refused, run.id),
    }


def _year_close(session: Session, today: date, run: JobRun) -> dict[str, Any]:
    refused: list[alerts.Draft] = []
    closings = year_close.close_all(session, SYSTEM, today.year - 1, today, refused=refused)
    created = [c for c in closings if c.created]
    return {
        "held_refused": len(refused),
        "new_alerts": alerts.raise_all(session, refused, run.id),
        "closed": [
            {"landlord_id": c.scope.landlord_id, "departement": c.scope.departement, "year": c.year}
            for c in created
        ],
        "already_closed": len(closings) - len(created),
    }


def _nightly(session: Session, today: date, run: JobRun) -> dict[str, Any]:
    drafts = nightly_check.check(session, today)
    raised = alerts.raise_all(session, drafts, run.id)
    return {"findings": len(drafts), "new_alerts": raised}


def _expiring(session: Session, today: date, run: JobRun) -> dict[str, Any]:
    drafts = expiring.check(session, today) + deduction_forecast_alerts.missing(session, today)
    raised = alerts.raise_all(session, drafts, run.id)
    return {"findings": len(drafts), "new_alerts": raised}


def _bilan(session: Session, today: date, run: JobRun) -> dict[str, Any]:
    return bilan_campaign.run(session, today, run.id)


def _reminders(session: Session, today: date, run: JobRun) -> dict[str, Any]:
    return {"notifications": notifications.remind_deadlines(session, today)}


def send_notifications(session: Session, sender: Sender, today: date) -> dict[str, int]:
    """E-mail the outbox (every minute, not a once-a-period job: each row is claimed on its
    own, so two runs never send one notification twice)."""
    return notification_delivery.send_pending(session, sender, today)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "deadlines",
            "délais de désignation échus : carences et reprises (chaque jour)",
            _daily,
            _deadlines,
        ),
        Job(
            "year-close",
            "clôture de l'année écoulée pour chaque bailleur × département, rattrapage compris, "
            "puis orientation des libérations mises en attente de cette clôture (à partir du "
            "1er janvier)",
            _previous_year,
            _year_close,
        ),
        Job(
            "bilan-campaign",
            "bilans annuels de chaque bailleur pour chaque réservataire, du 2 janvier au 28 "
            "février ; ensuite, liste des bilans non émis",
            bilan_campaign.period,
            _bilan,
        ),
        Job(
            "nightly-check",
            "recalcul des états de droits ouverts depuis le journal, invariants, écarts de plus "
            "de 2 logements (chaque nuit)",
            _daily,
            _nightly,
        ),
        Job(
            "deadline-reminders",
            "notifications : délais de désignation proches (N jours, au choix de chacun) et "
            "dépassés (chaque jour)",
            _daily,
            _reminders,
        ),
        Job(
            "expiring-conventions",
            "conventions échéant dans les 90 jours, parts garanties échues (chaque jour)",
            _daily,
            _expiring,
        ),
    )
}


def run(session: Session, name: str, today: date) -> Outcome:
    """Run one job as if on `today`, unless its period already ran (or is running)."""
    job = JOBS[name]
    period = job.period(today)
    if period is None:
        return Outcome(name, None, "idle", {})
    claimed = _claim(session, name, period, today)
    if claimed is None:
        existing = session.scalar(
            sa.select(JobRun).where(JobRun.job == name, JobRun.period == period)
        )
        session.commit()
        return Outcome(name, period, "skipped", {"existing_status": existing.status}, existing.id)
    run_id = claimed
    try:
        run_row = session.get(JobRun, run_id)
        summary = job.work(session, today, run_row)
        run_row = session.get(JobRun, run_id)  # a lock may have restarted the transaction
        run_row.status, run_row.summary = "succeeded", summary
        run_row.finished_at = datetime.now(UTC)
        session.commit()
    except Exception as error:
        session.rollback()
        log.exception("job %s (%s) failed", name, period)
        _mark_failed(session, run_id, error)
        return Outcome(name, period, "failed", {"error": describe(error)}, run_id)
    log.info("job %s (%s) succeeded: %s", name, period, summary)
    return Outcome(name, period, "succeeded", summary, run_id)


def _claim(session: Session, name: str, period: str, today: date) -> int | None:
    """Insert the run's row (committed at once); None if the period is taken."""
    session.commit()
    try:
        row = JobRun(job=name, period=period, run_for=today, status="running", summary={})
        session.add(row)
        session.commit()
        return row.id
    except sa.exc.IntegrityError:
        session.rollback()
    now = datetime.now(UTC)
    retaken = session.execute(
        sa.update(JobRun)
        .where(
            JobRun.job == name,
            JobRun.period == period,
            sa.or_(
                JobRun.status == "failed",
                # A run whose process died (killed, out of memory) never finished: after
                # STALE_AFTER it is taken over, so its period is not lost.
                sa.and_(JobRun.status == "running", JobRun.started_at < now - STALE_AFTER),
            ),
        )
        .values(status="running", run_for=today, error=None, started_at=now)
        .returning(JobRun.id)
    ).scalar()
    session.commit()
    return retaken


def _mark_failed(session: Session, run_id: int, error: Exception) -> None:
    session.execute(
        sa.update(JobRun)
        .where(JobRun.id == run_id)
        .values(status="failed", error=describe(error), finished_at=datetime.now(UTC))
    )
    session.commit()


def describe(error: Exception) -> str:
    """What a failed run records: a rule's French message, else only the exception's class
    (a database error's text carries SQL and values; the process log has the traceback)."""
    message = getattr(error, "detail", None) or getattr(error, "message", None)
    if isinstance(message, str):
        return f"{type(error).__name__} : {message}"[:2000]
    return f"{type(error).__name__} (détail dans le journal du processus ordonnanceur)"
