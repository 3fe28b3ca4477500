"""Conventions de réservation, their dated versions (amendments) and their shares."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flux.db import Base
from flux.domain.conventions import SharePurpose
from flux.domain.reference import CountingEvent, PerimeterKind
from flux.models.organisations import Organisation
from flux.models.types import UtcDateTime, enum_column, utcnow


class Convention(Base):
    """The identity of a signed agreement landlord × reserver; its terms live in versions."""

    __tablename__ = "conventions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(100), unique=True)
    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    reserver_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    departement_code: Mapped[str] = mapped_column(sa.ForeignKey("departements.code"), index=True)
    label: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Bumped on every write, so an ETag taken before a concurrent edit no longer matches.
    revision: Mapped[int] = mapped_column(default=1)
    # R.441-5-2 IV: failing a signed convention, the préfet sets the terms by arrêté (its
    # reference and date); None for a convention signed by both parties.
    imposed_by_arrete: Mapped[str | None] = mapped_column(sa.String(200))
    imposed_on: Mapped[date | None] = mapped_column(sa.Date)
    # Résiliation: its last day in force, its reference and the mise en demeure before it.
    terminated_on: Mapped[date | None] = mapped_column(sa.Date)
    termination_reference: Mapped[str | None] = mapped_column(sa.String(200))
    formal_notice_on: Mapped[date | None] = mapped_column(sa.Date)

    landlord: Mapped[Organisation] = relationship(foreign_keys=[landlord_id])
    reserver: Mapped[Organisation] = relationship(foreign_keys=[reserver_id])
    versions: Mapped[list[ConventionVersion]] = relationship(
        back_populates="convention", order_by="ConventionVersion.number"
    )
    shares: Mapped[list[Share]] = relationship(back_populates="convention", order_by="Share.id")


class ConventionVersion(Base):
    """The terms of a convention from `effective_from` until the next version (an amendment)."""

    __tablename__ = "convention_versions"
    __table_args__ = (
        sa.UniqueConstraint("convention_id", "number"),
        sa.UniqueConstraint("convention_id", "effective_from"),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="validity_ordered"
        ),
        sa.CheckConstraint("designation_deadline_days > 0", name="deadline_positive"),
        sa.CheckConstraint("candidates_per_designation > 0", name="candidates_positive"),
        sa.CheckConstraint("cal_refusal_delay_days > 0", name="refusal_delay_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(sa.ForeignKey("conventions.id"), index=True)
    number: Mapped[int]
    effective_from: Mapped[date] = mapped_column(sa.Date)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    perimeter_kind: Mapped[PerimeterKind] = mapped_column(
        enum_column(PerimeterKind, "perimeter_kind")
    )
    # Département code or EPCI SIREN; the explicit list of communes is in VersionCommune.
    perimeter_code: Mapped[str | None] = mapped_column(sa.String(9))

    # Policies of domain.md §5–6, with their defaults.
    designation_deadline_days: Mapped[int] = mapped_column(server_default=sa.text("30"))
    candidates_per_designation: Mapped[int] = mapped_column(server_default=sa.text("3"))
    carence_counts: Mapped[bool] = mapped_column(server_default=sa.true())
    cal_refusal_delay_days: Mapped[int] = mapped_column(server_default=sa.text("15"))
    cal_refusal_counts: Mapped[bool] = mapped_column(server_default=sa.true())
    counting_event: Mapped[CountingEvent] = mapped_column(
        enum_column(CountingEvent, "counting_event"), server_default=CountingEvent.ORIENTATION
    )
    carry_over: Mapped[bool] = mapped_column(server_default=sa.true())
    first_lettings_counted: Mapped[bool] = mapped_column(server_default=sa.true())
    etat_uniform_by_commune: Mapped[bool] = mapped_column(server_default=sa.true())
    etat_hors_qpv_minimum: Mapped[bool] = mapped_column(server_default=sa.true())
    spread_by_typology: Mapped[bool] = mapped_column(server_default=sa.false())
    spread_by_qpv: Mapped[bool] = mapped_column(server_default=sa.false())

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    convention: Mapped[Convention] = relationship(back_populates="versions")
    share_terms: Mapped[list[ShareTerms]] = relationship(
        back_populates="version", order_by="ShareTerms.share_id"
    )
    communes: Mapped[list[VersionCommune]] = relationship(order_by="VersionCommune.commune_insee")


class VersionCommune(Base):
    """A commune of an explicit perimeter (perimeter_kind == communes)."""

    __tablename__ = "convention_version_communes"

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("convention_versions.id"), primary_key=True
    )
    commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("communes.insee"), primary_key=True)


class Share(Base):
    """A right held under a convention; stable across amendments (its terms are per version)."""

    __tablename__ = "shares"
    __table_args__ = (sa.UniqueConstraint("convention_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(sa.ForeignKey("conventions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(50))
    purpose: Mapped[SharePurpose] = mapped_column(enum_column(SharePurpose, "share_purpose"))

    convention: Mapped[Convention] = relationship(back_populates="shares")


class ShareTerms(Base):
    """A share's terms in one version: label, percentage (basis points), guarantee, end date."""

    __tablename__ = "share_terms"
    __table_args__ = (
        sa.CheckConstraint("basis_points > 0 AND basis_points <= 10000", name="basis_points"),
    )

    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("convention_versions.id"), primary_key=True
    )
    share_id: Mapped[int] = mapped_column(sa.ForeignKey("shares.id"), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    basis_points: Mapped[int]
    guarantee_backed: Mapped[bool] = mapped_column(server_default=sa.false())
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    # R.441-6: the guaranteed loan's last repayment; ends_on is derived from it (+5 years).
    loan_repaid_on: Mapped[date | None] = mapped_column(sa.Date)

    version: Mapped[ConventionVersion] = relationship(back_populates="share_terms")
    share: Mapped[Share] = relationship()


class EtatDerogation(Base):
    """A préfet's arrêté lifting the État's 30 % / 5 % caps for a landlord in a département, for
    a determined period of at most one year (R.441-5-2 I al.2)."""

    __tablename__ = "etat_derogations"
    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="period_ordered"),
        sa.CheckConstraint(
            "etat_cap_bp > 0 AND etat_cap_bp <= 10000 AND agents_cap_bp > 0 "
            "AND agents_cap_bp <= etat_cap_bp",
            name="caps",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    departement_code: Mapped[str] = mapped_column(sa.ForeignKey("departements.code"))
    arrete_reference: Mapped[str] = mapped_column(sa.String(200))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)  # inclusive
    etat_cap_bp: Mapped[int]  # the caps in force during the derogation
    agents_cap_bp: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ReformEpci(Base):
    """An EPCI (or EPT) subject to the attribution reform in a year (L.441-1, loi Égalité et
    Citoyenneté), with its quartile rates (defaults 25 % outside QPV, 50 % inside)."""

    __tablename__ = "reform_epcis"
    __table_args__ = (
        sa.CheckConstraint(
            "first_quartile_bp > 0 AND first_quartile_bp <= 10000 "
            "AND other_quartiles_bp > 0 AND other_quartiles_bp <= 10000",
            name="rates",
        ),
    )

    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    epci_siren: Mapped[str] = mapped_column(sa.ForeignKey("epcis.siren"), primary_key=True)
    first_quartile_bp: Mapped[int] = mapped_column(server_default=sa.text("2500"))
    other_quartiles_bp: Mapped[int] = mapped_column(server_default=sa.text("5000"))
