"""Organisations: landlords (bailleurs) and reservers (réservataires)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base
from flux.domain.conventions import ReserverCategory
from flux.domain.reference import OrganisationKind
from flux.models.types import UtcDateTime, enum_column, utcnow


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'reserver') = (category IS NOT NULL)", name="category_iff_reserver"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind, "org_kind"))
    category: Mapped[ReserverCategory | None] = mapped_column(
        enum_column(ReserverCategory, "reserver_category")
    )
    # The territory a reserver represents: département code (État, département), INSEE code
    # (commune) or SIREN (EPCI, EPT). Its département scopes prefecture staff of the État.
    territory_code: Mapped[str | None] = mapped_column(sa.String(9))
    departement_code: Mapped[str | None] = mapped_column(sa.ForeignKey("departements.code"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
