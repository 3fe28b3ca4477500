"""Bilans prepared in the background (issue 13): a bilan too large to be made within a web
request (gunicorn kills a worker after 30 s; a national bilan takes longer) is asked for, the
API answers 202 with the address of the job, and the scheduler process makes it; the caller
polls that address and gets the file once it is ready.

Why the scheduler process and not a thread of the web worker: the design keeps long work out
of web workers (design.md §1); a thread would die with its worker when gunicorn recycles or
times it out, would take the worker's memory (a national bilan peaks above 1 GB) and its GIL
from the requests it serves, and several workers would each need one. The scheduler already
runs alone, with its own database session, and polls every few seconds (``POLL_SECONDS``).

A job is claimed by a compare-and-set of its status (pending -> running), so two schedulers
never make the same bilan; the caller's access is applied again when it is made, with the
actor recorded at the request.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.reference import Role
from flux.models import ReportJob
from flux.services import reports
from flux.services.access import Actor

log = logging.getLogger("flux.scheduler")
POLL_SECONDS = 5
# Above this many scopes (landlord × département) a bilan is prepared in the background: a
# département's consolidation has about ten, the national bilan about 500 (bench/README.md).
BACKGROUND_SCOPES = 60
STALE_AFTER = timedelta(hours=1)  # a running job older than this was lost with its process


def in_background(
    session: Session,
    actor: Actor,
    query: reports.ReportQuery,
    asked: bool,
    limit: int = BACKGROUND_SCOPES,
) -> bool:
    """Whether the bilan is prepared in the background: asked for (``Prefer: respond-async``),
    or more than ``limit`` scopes. Raises NotFound for a filter the caller may not use."""
    count = reports.scope_count(session, actor, query)
    return asked or count > limit


def request(
    session: Session, actor: Actor, query: reports.ReportQuery, fmt: str, part: str | None
) -> ReportJob:
    """Record the job (the caller commits)."""
    job = ReportJob(
        user_id=actor.user_id,
        role=actor.role.value,
        organisation_id=actor.organisation_id,
        departement=actor.departement,
        query={k: v for k, v in asdict(query).items() if v is not None},
        format=fmt,
        part=part,
        status="pending",
    )
    session.add(job)
    session.flush()
    return job


def visible(session: Session, actor: Actor, job_id: int) -> ReportJob | None:
    """The job, if the caller asked for it (or is an admin)."""
    job = session.get(ReportJob, job_id)
    if job is None:
        return None
    if actor.is_admin or (actor.user_id is not None and job.user_id == actor.user_id):
        return job
    return None


def run_pending(session: Session, limit: int = 1) -> int:
    """Make up to ``limit`` pending bilans, oldest first; returns how many were made."""
    _release_stale(session)
    made = 0
    for job_id in session.scalars(
        sa.select(ReportJob.id)
        .where(ReportJob.status == "pending")
        .order_by(ReportJob.id)
        .limit(limit)
    ).all():
        if _claim(session, job_id):
            _make(session, job_id)
            made += 1
    return made


def _claim(session: Session, job_id: int) -> bool:
    claimed = session.execute(
        sa.update(ReportJob)
        .where(ReportJob.id == job_id, ReportJob.status == "pending")
        .values(status="running", started_at=datetime.now(UTC))
    ).rowcount
    session.commit()
    return bool(claimed)


def _make(session: Session, job_id: int) -> None:
    from flux.reporting import render

    job = session.get(ReportJob, job_id)
    assert job is not None
    actor = Actor(
        job.user_id,
        Role(job.role),
        job.organisation_id,
        departement=job.departement,
        can_write=False,
        request_id=f"report-job-{job.id}",
    )
    try:
        report = reports.annual(session, actor, reports.ReportQuery(**job.query))
        rendered = render.render(report, job.format, job.part)
    except Exception as error:  # a job that fails says so; the scheduler goes on
        log.exception("report job %s failed", job_id)
        session.rollback()
        job = session.get(ReportJob, job_id)
        assert job is not None
        job.status, job.finished_at = "failed", datetime.now(UTC)
        job.error = f"{type(error).__name__}: {error}"[:2000]
        session.commit()
        return
    job.content, job.media_type, job.filename = (
        rendered.content,
        rendered.media_type,
        rendered.filename,
    )
    job.size, job.status, job.finished_at = len(rendered.content), "done", datetime.now(UTC)
    session.commit()


def _release_stale(session: Session) -> None:
    """Put back in the queue a job whose scheduler stopped while making it."""
    session.execute(
        sa.update(ReportJob)
        .where(
            ReportJob.status == "running",
            ReportJob.started_at < datetime.now(UTC) - STALE_AFTER,
        )
        .values(status="pending", started_at=None)
    )
    session.commit()
