"""The scheduler process: one APScheduler 3 BlockingScheduler, time zone Europe/Paris.

Started by `flux scheduler run`, beside the web server, never inside a web worker. On
PostgreSQL it holds an advisory lock for its whole life, on a connection of its own (outside
the pool), so a second scheduler started by mistake exits at once with a message; on SQLite
(one machine, development) the `job_runs` uniqueness alone keeps each job to one run per period.
At start it runs every job once (each is idempotent: a period already done is skipped), which
catches up whatever a stopped scheduler missed; then each job runs at its hour.

The lock dies with its connection (a restarted database, a terminated backend, a network cut):
before each job the scheduler checks that its connection still holds the lock, takes it again
on a new connection if it was lost, and stops if another scheduler took it meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.pool import NullPool

from flux import clock
from flux.db import db
from flux.scheduler import jobs
from flux.services import mail

log = logging.getLogger("flux.scheduler")

TIME_ZONE = "Europe/Paris"
ADVISORY_KEY = 0x466C7578  # "Flux"
# Hour (Paris time) at which each job runs daily, in this order at start-up (the catch-up).
# Deadlines come first: after an outage over a year end, carences due in December are then
# recorded in their year before it is closed, not as late entries of the next.
SCHEDULE = {
    "deadlines": (0, 15),
    "year-close": (0, 30),
    "bilan-campaign": (2, 0),
    "nightly-check": (3, 0),
    "expiring-conventions": (6, 0),
    "deadline-reminders": (6, 30),
}
SEND_EVERY_SECONDS = 60  # the notification outbox
MISFIRE_GRACE_SECONDS = 6 * 3600


class AlreadyRunning(RuntimeError):
    """Another scheduler holds the database's scheduler lock."""


class SchedulerLock:
    """The scheduler's advisory lock (PostgreSQL), on a connection of its own outside the pool;
    on SQLite there is nothing to hold and every check passes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: sa.Connection | None = None
        self._engine: sa.Engine | None = None

    @property
    def needed(self) -> bool:
        return self.url.startswith("postgresql")

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning if another scheduler holds it."""
        if not self.needed:
            return
        self._engine = self._engine or sa.create_engine(self.url, poolclass=NullPool)
        connection = self._engine.connect()
        taken = connection.execute(sa.select(sa.func.pg_try_advisory_lock(ADVISORY_KEY))).scalar()
        connection.commit()
        if not taken:
            connection.close()
            raise AlreadyRunning(
                "Un autre ordonnanceur Flux tourne déjà sur cette base de données (verrou "
                f"consultatif {ADVISORY_KEY} pris) : ce processus s'arrête."
            )
        self.connection = connection

    def holds(self) -> bool:
        """Whether this process's lock connection is alive and still holds the lock."""
        if self.connection is None:
            return False
        try:
            held = self.connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted AND classid = 0 AND objid = :key"
                ),
                {"key": ADVISORY_KEY},
            ).scalar()
            self.connection.commit()
            return bool(held)
        except sa.exc.DBAPIError as error:
            log.warning("scheduler lock connection lost: %s", str(error.orig).splitlines()[0])
            self._drop_connection()
            return False

    def ensure(self) -> None:
        """Before working: keep the lock, take it back if its connection died, or raise
        AlreadyRunning if another scheduler took it in the meantime."""
        if not self.needed or self.holds():
            return
        self._drop_connection()
        log.warning("scheduler lock lost: taking it again before working")
        self.acquire()
        log.info("scheduler lock taken again")

    def _drop_connection(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.connection.invalidate()
                self.connection.close()
            self.connection = None

    def release(self) -> None:
        self._drop_connection()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def hold_lock(url: str) -> SchedulerLock:
    """Take the scheduler's lock for this process's life (raises AlreadyRunning)."""
    lock = SchedulerLock(url)
    lock.acquire()
    return lock


def run_job(
    app: Flask, name: str, today: date | None = None, lock: SchedulerLock | None = None
) -> jobs.Outcome:
    """One job in its own application context and session, once the lock is checked."""
    if lock is not None:
        lock.ensure()
    with app.app_context():
        try:
            return jobs.run(db.session, name, today or clock.today())
        finally:
            db.session.close()


def run_report_jobs(app: Flask) -> int:
    """The bilans asked for through the API and prepared here (issue 13)."""
    from flux.services import report_jobs

    with app.app_context():
        try:
            return report_jobs.run_pending(db.session)
        finally:
            db.session.close()


def run_all(
    app: Flask, today: date | None = None, lock: SchedulerLock | None = None
) -> list[jobs.Outcome]:
    return [run_job(app, name, today, lock) for name in SCHEDULE]


def send_notifications(app: Flask, today: date | None = None) -> dict[str, int]:
    """One delivery run of the outbox, in its own application context and session."""
    with app.app_context():
        try:
            sender = mail.sender_from(app.config)
            return jobs.send_notifications(db.session, sender, today or clock.today())
        except Exception:
            db.session.rollback()
            log.exception("notification delivery failed")
            return {}
        finally:
            db.session.close()


def build(app: Flask, lock: SchedulerLock | None = None) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone=TIME_ZONE,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    for name, (hour, minute) in SCHEDULE.items():
        scheduler.add_job(
            run_job,
            CronTrigger(hour=hour, minute=minute, timezone=TIME_ZONE),
            args=[app, name, None, lock],
            id=name,
            name=name,
            replace_existing=True,
        )
    scheduler.add_job(
        send_notifications,
        IntervalTrigger(seconds=SEND_EVERY_SECONDS, timezone=TIME_ZONE),
        args=[app],
        id="notifications",
        name="notifications",
        replace_existing=True,
    )
    from flux.services import report_jobs

    scheduler.add_job(
        run_report_jobs,
        IntervalTrigger(seconds=report_jobs.POLL_SECONDS, timezone=TIME_ZONE),
        args=[app],
        id="report-jobs",
        name="report-jobs",
        replace_existing=True,
        misfire_grace_time=None,
    )
    return scheduler


def serve(app: Flask, url: str, today: date | None = None, once: bool = False) -> None:
    """Hold the lock, catch up, then run the schedule until stopped (or return, with once)."""
    lock = hold_lock(url)
    try:
        for outcome in run_all(app, today, lock):
            log.info("catch-up %s: %s %s", outcome.job, outcome.status, outcome.period)
        log.info("notifications: %s", send_notifications(app, today))
        if once:
            return
        scheduler = build(app, lock)
        lost: list[str] = []

        def _stop_on_lost_lock(event) -> None:
            # a job found another scheduler holding the lock: this one stops working
            if isinstance(event.exception, AlreadyRunning):
                lost.append(str(event.exception))
                scheduler.shutdown(wait=False)

        scheduler.add_listener(_stop_on_lost_lock, EVENT_JOB_ERROR)
        scheduler.start()
        if lost:
            raise AlreadyRunning(lost[0])
    finally:
        lock.release()
