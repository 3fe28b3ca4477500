"""a dwelling's entries of one kind through one index (issue 14 item 2)

A decision reads, before the scope lock, the dwelling's last vacancy and its vacancies of the
day (`kind = 'vacancy_logged' AND dwelling_id = …`). With an index on each column, PostgreSQL
ANDed two bitmaps, the first holding every vacancy of the journal: the read grew with the
year. The index on `dwelling_id` alone becomes one on `(dwelling_id, kind)`, which serves
every query the first one served, at the same cost per insert.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_journal_dwelling_kind", "journal_entries", ["dwelling_id", "kind"])
    op.drop_index("ix_journal_entries_dwelling_id", table_name="journal_entries")


def downgrade() -> None:
    op.create_index("ix_journal_entries_dwelling_id", "journal_entries", ["dwelling_id"])
    op.drop_index("ix_journal_dwelling_kind", table_name="journal_entries")
