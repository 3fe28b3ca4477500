"""Notifications: the outbox (one row per user and fact, written in the fact's transaction and
e-mailed by the scheduler process), each user's delivery preferences, and the first responses
of requests sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base
from flux.models.types import UtcDateTime, utcnow


class Notification(Base):
    """Something a user is told, in the app and by e-mail. No household data, ever."""

    __tablename__ = "notifications"
    __table_args__ = (
        # A fact is told once to a user (a reminder job that runs twice adds nothing).
        sa.UniqueConstraint("user_id", "dedupe_key"),
        sa.Index("ix_notifications_email_status", "email_status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.String(4000))
    vacancy_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # pending -> sending (claimed by a scheduler run, committed before SMTP) -> sent;
    # a failed attempt goes back to pending with its error, until MAX_ATTEMPTS (failed).
    email_status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    email_attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    email_error: Mapped[str | None] = mapped_column(sa.String(500))
    email_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    email_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NotificationPreference(Base):
    """How a user wants to be told: each notification at once, or one digest a day; and how
    many days before a designation deadline to be reminded."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    delivery: Mapped[str] = mapped_column(sa.String(20), default="immediate")
    reminder_days: Mapped[int] = mapped_column(sa.SmallInteger, default=5)
    email: Mapped[bool] = mapped_column(server_default=sa.true())
    last_digest_on: Mapped[date | None] = mapped_column(sa.Date)


class IdempotentRequest(Base):
    """The first response to a request sent with an Idempotency-Key, returned to its retries."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (sa.UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(80))  # landlord:<id>, org:<id>, user:<id>
    key: Mapped[str] = mapped_column(sa.String(200))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the request
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    response: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
