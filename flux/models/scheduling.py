"""Scheduled work: job runs (one per job and period), the alerts they raise, and the annual
reports the bilan campaign issues (issue 6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base
from flux.models.types import UtcDateTime, utcnow


class JobRun(Base):
    """One run of a job for one period: the row is the job's claim on that period, so a second
    scheduler (or a retry) cannot run it twice."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40))
    period: Mapped[str] = mapped_column(sa.String(20))  # 2026-01-05, or 2025 for a year
    run_for: Mapped[date] = mapped_column(sa.Date)  # the business date it ran as
    status: Mapped[str] = mapped_column(sa.String(20))  # running, succeeded, failed
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.String(2000))


class Alert(Base):
    """Something a person should look at, raised once per subject (`key`)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id"))
    landlord_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    reserver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    departement_code: Mapped[str | None] = mapped_column(sa.String(3))
    convention_id: Mapped[int | None] = mapped_column(sa.ForeignKey("conventions.id"))
    share_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shares.id"))
    message: Mapped[str] = mapped_column(sa.String(1000))
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IssuedReport(Base):
    """A landlord's bilan of a year for one reserver, generated and issued by the campaign."""

    __tablename__ = "issued_reports"
    __table_args__ = (
        sa.UniqueConstraint("landlord_id", "departement_code", "reserver_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    departement_code: Mapped[str] = mapped_column(sa.String(3))
    reserver_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    media_type: Mapped[str] = mapped_column(sa.String(100))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_hash: Mapped[str] = mapped_column(sa.String(64))  # SHA-256, hex
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    generated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_on: Mapped[date | None] = mapped_column(sa.Date)  # the business date (Paris)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id"))
