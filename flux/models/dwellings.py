"""A landlord's stock: dwellings identified by their RPLS number."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flux.db import Base
from flux.domain.reference import Financing, OutOfFluxReason, Typology
from flux.models.organisations import Organisation
from flux.models.territories import Commune
from flux.models.types import UtcDateTime, enum_column, utcnow


class Dwelling(Base):
    __tablename__ = "dwellings"
    __table_args__ = (
        sa.UniqueConstraint("landlord_id", "rpls_id"),
        sa.CheckConstraint("construction_year BETWEEN 1800 AND 2100", name="construction_year"),
        # An RPLS id belongs to one landlord at a time: once among the rows not sold.
        sa.Index(
            "uq_dwellings_rpls_active",
            "rpls_id",
            unique=True,
            sqlite_where=sa.text("sold_on IS NULL"),
            postgresql_where=sa.text("sold_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    rpls_id: Mapped[str] = mapped_column(sa.String(20), index=True)
    commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("communes.insee"), index=True)
    qpv_code: Mapped[str | None] = mapped_column(sa.ForeignKey("qpvs.code"))
    typology: Mapped[Typology] = mapped_column(enum_column(Typology, "typology"))
    financing: Mapped[Financing] = mapped_column(enum_column(Financing, "financing"))
    construction_year: Mapped[int]
    # None: the dwelling is in the flux; otherwise why it is not (domain.md §2).
    out_of_flux: Mapped[OutOfFluxReason | None] = mapped_column(
        enum_column(OutOfFluxReason, "out_of_flux_reason")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # What a réservataire needs to choose candidates (all optional; never household data).
    # Money in cents and surfaces in hundredths of a square metre: integers, no float.
    address: Mapped[str | None] = mapped_column(sa.String(300))
    floor: Mapped[int | None] = mapped_column(sa.SmallInteger)
    surface_m2_x100: Mapped[int | None] = mapped_column()
    rooms: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rent_cents: Mapped[int | None] = mapped_column()
    charges_cents: Mapped[int | None] = mapped_column()
    pmr: Mapped[bool | None] = mapped_column()
    lift: Mapped[bool | None] = mapped_column()
    landlord_contact: Mapped[str | None] = mapped_column(sa.String(300))
    # Sold to another landlord on this date (`flux dwellings transfer`): out of this landlord's
    # stock, kept for the journal; the buyer's dwelling is another row with the same RPLS id.
    sold_on: Mapped[date | None] = mapped_column(sa.Date)

    landlord: Mapped[Organisation] = relationship()
    commune: Mapped[Commune] = relationship()
