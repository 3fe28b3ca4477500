"""Allocation scopes: one landlord in one département, the unit decisions are serialised in."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base


class AllocationScope(Base):
    """The lock row of a scope (design.md §5), its choice of rule and its cache marks.

    Every write that moves a scope's counters first locks this row (SELECT … FOR UPDATE on
    PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE).

    ``version`` counts the journal entries of the scope: a database trigger adds one per entry
    inserted, whoever inserts it (the service, a bulk import, a hand-written INSERT), so a
    process's cached fold knows without a COUNT whether anything was appended since.
    ``generation`` is a random mark moved by every migration and by ``flux db new-generation``
    (run after a restore): a cached fold of another generation is dropped unread.
    """

    __tablename__ = "allocation_scopes"

    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    departement_code: Mapped[str] = mapped_column(
        sa.ForeignKey("departements.code"), primary_key=True
    )
    # "largest_deficit" (default) or "tijdeman_deadline" (only when every share is eligible
    # everywhere and none has a sub-target).
    rule: Mapped[str] = mapped_column(sa.String(32), server_default="largest_deficit")
    version: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")
    generation: Mapped[str] = mapped_column(sa.String(32), server_default="")
