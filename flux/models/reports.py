"""Reports kept for reuse (issue 13): the rows of a closed year per scope, and the reports
prepared in the background because they take longer than a request may."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base
from flux.models.types import UtcDateTime, utcnow


class ReportFacts(Base):
    """A closed year's report rows for one scope and one view, as ``flux.reporting.cache``
    stores them. ``key`` names what they were made from (the closings, the last late carry
    adjustment, the reference data's digest): anything that would change them changes it."""

    __tablename__ = "report_facts"
    __table_args__ = (
        sa.UniqueConstraint("landlord_id", "departement_code", "year", "view", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    landlord_id: Mapped[int]
    departement_code: Mapped[str] = mapped_column(sa.String(3))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    view: Mapped[int]  # the reserver whose bilan it is, 0 for every row
    key: Mapped[str] = mapped_column(sa.String(200))
    rows: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReportJob(Base):
    """A bilan asked for through the API and prepared by the scheduler process: who asked
    (their access is applied again when it is made), what, and the file once made."""

    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None]
    role: Mapped[str] = mapped_column(sa.String(20))
    organisation_id: Mapped[int | None]
    departement: Mapped[str | None] = mapped_column(sa.String(3))
    query: Mapped[dict] = mapped_column(sa.JSON)  # year, landlord, reserver, departement
    format: Mapped[str] = mapped_column(sa.String(10))
    part: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # pending running done failed
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    media_type: Mapped[str | None] = mapped_column(sa.String(100))
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    size: Mapped[int | None]
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    error: Mapped[str | None] = mapped_column(sa.String(2000))
