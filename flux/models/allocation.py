"""Allocation scopes: one landlord in one département, the unit decisions are serialised in."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flux.db import Base


class AllocationScope(Base):
    """The lock row of a scope (design.md §5) and its choice of rule.

    Every write that moves a scope's counters first locks this row (SELECT … FOR UPDATE on
    PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE).
    """

    __tablename__ = "allocation_scopes"

    landlord_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    departement_code: Mapped[str] = mapped_column(
        sa.ForeignKey("departements.code"), primary_key=True
    )
    # "largest_deficit" (default) or "tijdeman_deadline" (only when every share is eligible
    # everywhere and none has a sub-target).
    rule: Mapped[str] = mapped_column(sa.String(32), server_default="largest_deficit")
