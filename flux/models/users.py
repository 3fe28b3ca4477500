"""Users and their API tokens (stored hashed)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flux.db import Base
from flux.domain.reference import Role
from flux.models.organisations import Organisation
from flux.models.types import UtcDateTime, enum_column, utcnow


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role = 'admin' OR organisation_id IS NOT NULL", name="organisation_unless_admin"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    # Landlord users may be read-only.
    can_write: Mapped[bool] = mapped_column(server_default=sa.true())
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # SHA-256 of the secret: tokens are long random strings, so a fast hash is enough
    # and allows an indexed lookup; the secret itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()
