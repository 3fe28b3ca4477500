"""The journal: the append-only book of record (design.md §3).

Entries are never updated or deleted: the ORM refuses it here, and database triggers
(see the first migration) refuse it for any other client. A correction is a new entry
whose `reverses_id` points at the entry it cancels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from flux.db import Base
from flux.models.types import BigId, UtcDateTime, utcnow


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        sa.Index("ix_journal_scope_date", "landlord_id", "departement_code", "effective_date"),
        sa.Index("ix_journal_scope_period", "landlord_id", "departement_code", "period"),
        # A scope's entries after a given id (what a cached fold has not seen yet), and its
        # entries of one kind (the closed years): each read touches only what it returns.
        sa.Index("ix_journal_scope_id", "landlord_id", "departement_code", "id"),
        sa.Index("ix_journal_scope_kind", "landlord_id", "departement_code", "kind"),
        # A dwelling's entries of one kind (its vacancies: a decision's read before the lock).
        sa.Index("ix_journal_dwelling_kind", "dwelling_id", "kind"),
        sa.UniqueConstraint("landlord_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    effective_date: Mapped[date] = mapped_column(sa.Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    landlord_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    departement_code: Mapped[str | None] = mapped_column(sa.String(3))
    dwelling_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dwellings.id"))
    vacancy_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("journal_entries.id"), index=True
    )
    convention_id: Mapped[int | None] = mapped_column(sa.ForeignKey("conventions.id"))
    share_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shares.id"))
    reverses_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("journal_entries.id"))
    # The calendar year of the vacancy an entry concerns: the allocation year it counts in
    # (a lease signed in January may close a vacancy of the previous year).
    period: Mapped[int | None] = mapped_column(sa.SmallInteger)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class JournalIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove a journal entry."""


@event.listens_for(JournalEntry, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: JournalEntry) -> None:
    raise JournalIsAppendOnly(f"journal entry {target.id} cannot be updated")


@event.listens_for(JournalEntry, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: JournalEntry) -> None:
    raise JournalIsAppendOnly(f"journal entry {target.id} cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_writes(state: Any) -> None:
    if not (state.is_update or state.is_delete):
        return
    if any(mapper.class_ is JournalEntry for mapper in state.all_mappers):
        raise JournalIsAppendOnly("bulk UPDATE/DELETE on the journal is refused")
