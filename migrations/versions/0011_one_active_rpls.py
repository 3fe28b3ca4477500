"""one active landlord per RPLS id: a partial unique index (issue 15 item 10)

The services already refuse an RPLS id held by another landlord (import, creation, change);
two requests racing past that check could still both write. The database now holds the
rule: among the rows not sold (`sold_on IS NULL`), an RPLS id appears once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("sold_on IS NULL")


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT rpls_id FROM dwellings WHERE sold_on IS NULL "
                "GROUP BY rpls_id HAVING COUNT(*) > 1 ORDER BY rpls_id LIMIT 20"
            )
        )
        .scalars()
        .all()
    )
    if duplicates:
        raise RuntimeError(
            "Ces numéros RPLS sont actifs chez plusieurs bailleurs ; enregistrez d'abord la "
            "cession (flux dwellings transfer) : " + ", ".join(duplicates)
        )
    op.create_index(
        "uq_dwellings_rpls_active",
        "dwellings",
        ["rpls_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_dwellings_rpls_active", table_name="dwellings")
