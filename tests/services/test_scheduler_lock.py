"""The scheduler notices the loss of its advisory lock (issue 15, item 6): its connection
terminated, it takes the lock again before working, or stops if another scheduler took it."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from flux.db import create_engine
from flux.scheduler import runner

from ..conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="the advisory lock is PostgreSQL's")


def _pid(lock: runner.SchedulerLock) -> int:
    pid = lock.connection.execute(sa.select(sa.func.pg_backend_pid())).scalar()
    lock.connection.commit()
    return pid


def _terminate(url: str, pid: int) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar()
    engine.dispose()


def _job_runs(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM job_runs")).scalar()
    engine.dispose()
    return count


def test_a_lock_whose_connection_was_terminated_is_taken_again_before_working(app, database_url):
    lock = runner.hold_lock(database_url)
    try:
        before = _pid(lock)
        _terminate(database_url, before)
        assert not lock.holds()

        outcome = runner.run_job(app, "expiring-conventions", date(2026, 1, 5), lock)

        assert outcome.job == "expiring-conventions"
        assert lock.holds() and _pid(lock) != before
        with pytest.raises(runner.AlreadyRunning):  # and a second scheduler is refused again
            runner.hold_lock(database_url)
    finally:
        lock.release()


def test_a_scheduler_whose_lock_another_took_stops_before_working(app, database_url):
    lock = runner.hold_lock(database_url)
    _terminate(database_url, _pid(lock))
    other = runner.hold_lock(database_url)  # a second scheduler starts while the lock is free
    try:
        with pytest.raises(runner.AlreadyRunning):
            runner.run_job(app, "nightly-check", date(2026, 1, 5), lock)
        assert _job_runs(database_url) == 0
        assert other.holds()
    finally:
        lock.release()
        other.release()
