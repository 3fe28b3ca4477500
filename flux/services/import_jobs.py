"""Imports run as background jobs: the API answers 202 at once with the job's address.

Where the job runs: in a thread of the web process that received the file, not in the
scheduler process. The file is on this process's disk (spooled there by the upload, never held
in memory) and the thread starts at once, whereas the scheduler would need the file shared
between machines and would add its polling delay; an import is one long transaction whose
only shared resource is the scopes' locks, which it takes like any request. The price: a job
whose process dies (a restart, a kill) stops with it; its row then stays ``running`` with a
heartbeat that no longer moves, which ``describe`` reports as ``interrupted`` after
``STALE_AFTER`` — the file can simply be sent again (imports are idempotent).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import IO, Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flux.db import db
from flux.models import ImportJob
from flux.models.types import utcnow
from flux.services import dwellings, vacancy_import
from flux.services.access import Actor, require_writer
from flux.services.dwellings import landlord_for_write
from flux.services.errors import NotFound, ServiceError

STALE_AFTER = timedelta(minutes=10)
RowLoader = Callable[[dict[str, str]], dict[str, Any]]
KINDS = ("vacancies", "dwellings")


def submit(
    session: Session,
    actor: Actor,
    kind: str,
    upload: Any,
    filename: str,
    landlord_ref: int | str | None,
    *,
    dry_run: bool,
    all_or_nothing: bool,
) -> tuple[ImportJob, str]:
    """Check who asks, spool the upload to disk and create the job (the caller commits, then
    calls ``start``). Returns the job and the spooled file's path."""
    landlord = landlord_for_write(session, actor, landlord_ref)
    require_writer(actor)
    handle, path = tempfile.mkstemp(prefix="flux-import-", suffix=os.path.splitext(filename)[1])
    with os.fdopen(handle, "wb") as spool:
        _copy(upload, spool)
    job = ImportJob(
        kind=kind,
        status="queued",
        landlord_id=landlord.id,
        actor_user_id=actor.user_id,
        actor_organisation_id=actor.organisation_id,
        filename=filename[:200],
        dry_run=dry_run,
        all_or_nothing=all_or_nothing,
        report={},
    )
    session.add(job)
    session.flush()
    return job, path


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    while chunk := source.read(1 << 20):
        target.write(chunk)


def start(
    app: Flask, job_id: int, path: str, actor: Actor, load_row: RowLoader | None = None
) -> threading.Thread | None:
    """Run the job in a thread of this process (see the module's docstring); with
    ``IMPORTS_IN_THREAD`` off (tests that restore their database between requests), at once.
    ``load_row``: the API's validation of one dwellings row (a dwellings job only)."""
    if not app.config.get("IMPORTS_IN_THREAD", True):
        run(app, job_id, path, actor, load_row)
        return None
    thread = threading.Thread(
        target=run,
        args=(app, job_id, path, actor, load_row),
        name=f"flux-import-{job_id}",
        daemon=False,
    )
    thread.start()
    return thread


def run(
    app: Flask, job_id: int, path: str, actor: Actor, load_row: RowLoader | None = None
) -> None:
    """Run a queued job to its end; its outcome is in its row (never raises)."""
    with app.app_context():
        session = db.session
        try:
            job = session.get(ImportJob, job_id)
            job.status, job.started_at, job.heartbeat_at = "running", utcnow(), utcnow()
            options = {"dry_run": job.dry_run, "all_or_nothing": job.all_or_nothing}
            landlord, filename, kind = job.landlord_id, job.filename, job.kind
            session.commit()
            actor = replace(actor, request_id=f"import-{job_id}")
            session.info["actor"] = actor  # audit records name who wrote
            with open(path, "rb") as stream:
                if kind == "dwellings":
                    report = dwellings.import_csv(
                        session, actor, stream, landlord, load_row, progress=_progress(app, job_id)
                    )  # a bad line raises, naming every bad line (kept in the job's row)
                    rows, written = report.rows, not options["dry_run"]
                    body = {**report.as_dict(), "dry_run": options["dry_run"]}
                else:
                    report = vacancy_import.import_vacancies(
                        session,
                        actor,
                        stream,
                        filename,
                        landlord,
                        progress=_progress(app, job_id),
                        **options,
                    )
                    rows, body, written = report.rows, report.as_dict(), report.written
            if written:
                session.commit()
            else:
                session.rollback()
            _finish(session, job_id, "succeeded", rows, body, None)
        except (ServiceError, Exception) as error:  # the job's row tells the caller
            session.rollback()
            message = getattr(error, "detail", None) or f"Erreur interne ({type(error).__name__})."
            status = "failed"
            _finish(session, job_id, status, None, getattr(error, "errors", {}) or {}, message)
            if not isinstance(error, ServiceError):
                app.logger.exception("import job %s failed", job_id)
        finally:
            if os.path.exists(path):
                os.unlink(path)


def _progress(app: Flask, job_id: int):
    """Progress written from another connection (PostgreSQL only: on SQLite the import holds
    the database's write lock until it ends, so progress shows at the end)."""
    if db.engine.dialect.name != "postgresql":
        return None

    def write(done: int, total: int | None) -> None:
        with db.engine.begin() as connection:
            connection.execute(
                sa.update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(rows_read=done, heartbeat_at=utcnow())
            )

    return write


def _finish(
    session: Session,
    job_id: int,
    status: str,
    rows: int | None,
    report: dict[str, Any],
    error: str | None,
) -> None:
    job = session.get(ImportJob, job_id)
    job.status, job.finished_at, job.heartbeat_at = status, utcnow(), utcnow()
    job.report, job.error = report, error[:2000] if error else None
    if rows is not None:
        job.rows_read = rows
    session.commit()


def get(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """A job its landlord, the organisation that sent it, or an admin may read (else 404)."""
    job = session.get(ImportJob, job_id)
    if job is None or not (
        actor.is_admin
        or actor.organisation_id is not None
        and actor.organisation_id in (job.landlord_id, job.actor_organisation_id)
    ):
        raise NotFound(f"Import {job_id} introuvable.")
    return job


def describe(job: ImportJob) -> dict[str, Any]:
    status = job.status
    beat = job.heartbeat_at or job.created_at
    if status in ("queued", "running") and utcnow() - beat > STALE_AFTER:
        status = "interrupted"
    return {
        "id": job.id,
        "kind": job.kind,
        "status": status,
        "filename": job.filename,
        "landlord_id": job.landlord_id,
        "dry_run": job.dry_run,
        "all_or_nothing": job.all_or_nothing,
        "rows_read": job.rows_read,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "report": job.report or None,
    }
