"""scope version and generation (cache marks), scope indexes on the journal, import jobs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every journal entry inserted adds one to its scope's version, whoever inserts it: a process's
# cached fold compares versions instead of counting the scope's entries (issue 14), and an
# out-of-band INSERT moves the version too (issue 15). On PostgreSQL one statement-level trigger
# per INSERT statement (a bulk insert of 1 000 rows updates the scope row once, not 1 000
# times); SQLite has row triggers only, cheap in-process.
_PG_VERSION_FUNCTION = """
CREATE FUNCTION flux_scope_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE allocation_scopes AS s SET version = s.version + n.entries
    FROM (SELECT landlord_id, departement_code, count(*) AS entries FROM new_entries
          GROUP BY landlord_id, departement_code) AS n
    WHERE s.landlord_id = n.landlord_id AND s.departement_code = n.departement_code;
    RETURN NULL;
END;
$$
"""
_PG_VERSION_TRIGGER = (
    "CREATE TRIGGER journal_scope_version AFTER INSERT ON journal_entries "
    "REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION flux_scope_version()"
)
_SQLITE_VERSION_TRIGGER = (
    "CREATE TRIGGER journal_scope_version AFTER INSERT ON journal_entries BEGIN "
    "UPDATE allocation_scopes SET version = version + 1 "
    "WHERE landlord_id = NEW.landlord_id AND departement_code = NEW.departement_code; END"
)
_COUNT = (
    "UPDATE allocation_scopes SET version = (SELECT count(*) FROM journal_entries AS j "
    "WHERE j.landlord_id = allocation_scopes.landlord_id "
    "AND j.departement_code = allocation_scopes.departement_code)"
)


def new_generation_sql(dialect: str) -> str:
    """A fresh random generation for every scope (also run by ``flux db new-generation``)."""
    if dialect == "postgresql":
        return "UPDATE allocation_scopes SET generation = md5(random()::text || clock_timestamp())"
    return "UPDATE allocation_scopes SET generation = lower(hex(randomblob(16)))"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ALTER TABLE (no batch mode): SQLite would otherwise recreate the tables and lose
    # the journal's append-only triggers.
    op.add_column(
        "allocation_scopes",
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "allocation_scopes",
        sa.Column("generation", sa.String(length=32), server_default="", nullable=False),
    )
    op.create_index(
        "ix_journal_scope_id", "journal_entries", ["landlord_id", "departement_code", "id"]
    )
    op.create_index(
        "ix_journal_scope_kind", "journal_entries", ["landlord_id", "departement_code", "kind"]
    )
    op.execute(_COUNT)
    op.execute(new_generation_sql(dialect))
    if dialect == "postgresql":
        op.execute(_PG_VERSION_FUNCTION)
        op.execute(_PG_VERSION_TRIGGER)
    else:
        op.execute(_SQLITE_VERSION_TRIGGER)
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("landlord_id", sa.Integer(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_organisation_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("all_or_nothing", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("rows_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_import_jobs_actor_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_import_jobs_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["landlord_id"],
            ["organisations.id"],
            name=op.f("fk_import_jobs_landlord_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    op.create_index(
        op.f("ix_import_jobs_landlord_id"), "import_jobs", ["landlord_id"], unique=False
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(op.f("ix_import_jobs_landlord_id"), table_name="import_jobs")
    op.drop_table("import_jobs")
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_scope_version ON journal_entries")
        op.execute("DROP FUNCTION IF EXISTS flux_scope_version()")
    else:
        op.execute("DROP TRIGGER IF EXISTS journal_scope_version")
    op.drop_index("ix_journal_scope_kind", table_name="journal_entries")
    op.drop_index("ix_journal_scope_id", table_name="journal_entries")
    if dialect == "postgresql":
        op.drop_column("allocation_scopes", "generation")
        op.drop_column("allocation_scopes", "version")
    else:
        with op.batch_alter_table("allocation_scopes") as batch:
            batch.drop_column("generation")
            batch.drop_column("version")
