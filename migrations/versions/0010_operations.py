"""operations: a dwelling sold to another landlord keeps its row, marked sold (issue 15)

An RPLS id belongs to one landlord at a time: the seller's row stays (the journal names it)
with the date it left the stock; the buyer's is a new row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dwellings") as batch:
        batch.add_column(sa.Column("sold_on", sa.Date(), nullable=True))
        batch.create_index(batch.f("ix_dwellings_rpls_id"), ["rpls_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dwellings") as batch:
        batch.drop_index(batch.f("ix_dwellings_rpls_id"))
        batch.drop_column("sold_on")
