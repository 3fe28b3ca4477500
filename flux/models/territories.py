"""Territories: départements, EPCI, communes (INSEE/SIREN codes) and QPV."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flux.db import Base
from flux.domain.reference import EpciKind
from flux.models.types import enum_column


class Departement(Base):
    __tablename__ = "departements"

    code: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))


class Epci(Base):
    __tablename__ = "epcis"

    siren: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[EpciKind] = mapped_column(enum_column(EpciKind, "epci_kind"))
    departement_code: Mapped[str] = mapped_column(sa.ForeignKey("departements.code"), index=True)

    communes: Mapped[list[Commune]] = relationship(back_populates="epci", order_by="Commune.insee")


qpv_communes = sa.Table(
    "qpv_communes",
    Base.metadata,
    sa.Column("qpv_code", sa.ForeignKey("qpvs.code"), primary_key=True),
    sa.Column("commune_insee", sa.ForeignKey("communes.insee"), primary_key=True),
)


class Commune(Base):
    __tablename__ = "communes"

    insee: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    departement_code: Mapped[str] = mapped_column(sa.ForeignKey("departements.code"), index=True)
    epci_siren: Mapped[str | None] = mapped_column(sa.ForeignKey("epcis.siren"), index=True)

    epci: Mapped[Epci | None] = relationship(back_populates="communes")
    qpvs: Mapped[list[Qpv]] = relationship(secondary=qpv_communes, back_populates="communes")


class Qpv(Base):
    """A quartier prioritaire de la politique de la ville (may span several communes)."""

    __tablename__ = "qpvs"

    code: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))

    communes: Mapped[list[Commune]] = relationship(
        secondary=qpv_communes, back_populates="qpvs", order_by="Commune.insee"
    )
