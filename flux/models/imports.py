"""Bulk imports from a landlord's ERP (vacancies and their events, dwellings), run as jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base
from flux.models.types import UtcDateTime, utcnow


class ImportJob(Base):
    """One import of a file: its options, its progress while it runs and its report after.

    The API answers 202 with the job's address at once; a thread of the web process that
    received the file runs it and writes its progress here (see ``flux.services.import_jobs``).
    """

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # vacancies, dwellings
    status: Mapped[str] = mapped_column(sa.String(20))  # queued, running, succeeded, failed
    landlord_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    dry_run: Mapped[bool] = mapped_column(server_default=sa.false())
    all_or_nothing: Mapped[bool] = mapped_column(server_default=sa.true())
    rows_read: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.String(2000))
