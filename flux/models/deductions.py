"""Deduction forecasts: how many vacancies a landlord expects to deduct from the flux base in a
year, by category (domain.md §3). The actual deductions are read from the journal."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base
from flux.domain.reference import DeductionCategory
from flux.models.types import UtcDateTime, enum_column, utcnow


class DeductionForecast(Base):
    """One category's forecast for a landlord in a département and a year.

    A re-declaration replaces the figure in place; the audit records keep every earlier one
    (who, when, which figure), so the row holds the figure in force and who declared it last.
    """

    __tablename__ = "deduction_forecasts"
    __table_args__ = (
        # Named by hand: the naming convention would exceed PostgreSQL's 63 characters.
        sa.UniqueConstraint(
            "landlord_id", "departement_code", "year", "category", name="uq_deduction_forecasts"
        ),
        sa.CheckConstraint("forecast >= 0", name="forecast_not_negative"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # the unique constraint, led by landlord_id, indexes the landlord's rows
    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    departement_code: Mapped[str] = mapped_column(sa.ForeignKey("departements.code"), index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    category: Mapped[DeductionCategory] = mapped_column(
        enum_column(DeductionCategory, "deduction_category")
    )
    forecast: Mapped[int]  # dwellings
    declared_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: a CLI load
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
