"""Two scheduler processes against one database run each job once (issue 6)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from flux.db import create_engine
from flux.scheduler.jobs import JOBS

from ..conftest import ON_POSTGRES
from .vacancy_kit import OPH, TOULOUSE, action_logement, create_dwelling, logged

FLUX = [os.path.join(os.path.dirname(sys.executable), "flux")]


@pytest.fixture
def world(client, auth, territory, session, database_url):
    """A vacancy past its designation deadline, committed for other processes to see."""
    oph = auth("landlord", OPH)
    al = action_logement(client, oph, "50.00")
    dwelling = create_dwelling(client, oph, "P0000001", TOULOUSE)
    logged(client, oph, dwelling, "2025-10-01", orient_to=al, reason="test")
    session.commit()
    return {**os.environ, "FLUX_ENV": "test", "FLUX_DATABASE_URL": database_url}


def start(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*FLUX, "scheduler", "run", "--today", "2026-01-05", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def job_runs(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT job, status FROM job_runs ORDER BY job")).all()
        carences = connection.execute(
            sa.text("SELECT count(*) FROM journal_entries WHERE kind = 'carence'")
        ).scalar()
    engine.dispose()
    return [tuple(r) for r in rows], carences


def wait_for_runs(url: str, expected: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs, _ = job_runs(url)
        if len(runs) == expected and all(status != "running" for _, status in runs):
            return
        time.sleep(0.3)
    raise AssertionError(f"job runs: {job_runs(url)}")


@pytest.mark.skipif(not ON_POSTGRES, reason="the advisory lock is PostgreSQL's")
def test_a_second_scheduler_on_postgresql_exits_with_a_message(world, database_url):
    first = start(world)
    try:
        wait_for_runs(database_url, len(JOBS))
        second = start(world)
        output, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "Un autre ordonnanceur Flux tourne déjà" in output
        assert first.poll() is None  # the first one keeps running
    finally:
        first.terminate()
        first.communicate(timeout=30)
    runs, carences = job_runs(database_url)
    assert sorted(job for job, _ in runs) == sorted(JOBS)
    assert carences == 1


def test_two_schedulers_started_together_run_each_job_once(world, database_url):
    first, second = start(world, "--once"), start(world, "--once")
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    if ON_POSTGRES:  # one of them gave way to the other's lock, or ran after it
        assert all(p.returncode in (0, 1) for p in (first, second)), outputs
    else:
        assert first.returncode == 0 and second.returncode == 0, outputs
    runs, carences = job_runs(database_url)
    assert len(runs) == len(JOBS) and len({job for job, _ in runs}) == len(JOBS)
    assert carences <= 1, (runs, outputs)  # never two carences for one overdue designation
    if any(status == "failed" for _, status in runs):
        # On a loaded machine a SQLite writer can time out on the other process's lock: the
        # run is recorded as failed and the next attempt (here a third process) retries it.
        retry = start(world, "--once")
        outputs.append(retry.communicate(timeout=120)[0])
        runs, carences = job_runs(database_url)
    assert all(status == "succeeded" for _, status in runs), (runs, outputs)
    assert carences == 1, (runs, outputs)  # the overdue designation got one carence
