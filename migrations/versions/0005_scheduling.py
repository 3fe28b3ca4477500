"""scheduled work: job runs, alerts, issued annual reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("run_for", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period", name=op.f("uq_job_runs_job_period")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("landlord_id", sa.Integer(), nullable=True),
        sa.Column("reserver_id", sa.Integer(), nullable=True),
        sa.Column("departement_code", sa.String(length=3), nullable=True),
        sa.Column("convention_id", sa.Integer(), nullable=True),
        sa.Column("share_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["convention_id"], ["conventions.id"], name=op.f("fk_alerts_convention_id_conventions")
        ),
        sa.ForeignKeyConstraint(
            ["job_run_id"], ["job_runs.id"], name=op.f("fk_alerts_job_run_id_job_runs")
        ),
        sa.ForeignKeyConstraint(
            ["landlord_id"], ["organisations.id"], name=op.f("fk_alerts_landlord_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["reserver_id"], ["organisations.id"], name=op.f("fk_alerts_reserver_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["share_id"], ["shares.id"], name=op.f("fk_alerts_share_id_shares")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_key")),
    )
    op.create_index(op.f("ix_alerts_kind"), "alerts", ["kind"], unique=False)
    op.create_table(
        "issued_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("landlord_id", sa.Integer(), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("reserver_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_run_id"], ["job_runs.id"], name=op.f("fk_issued_reports_job_run_id_job_runs")
        ),
        sa.ForeignKeyConstraint(
            ["landlord_id"],
            ["organisations.id"],
            name=op.f("fk_issued_reports_landlord_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["reserver_id"],
            ["organisations.id"],
            name=op.f("fk_issued_reports_reserver_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_reports")),
        sa.UniqueConstraint(
            "landlord_id",
            "departement_code",
            "reserver_id",
            "year",
            name=op.f("uq_issued_reports_landlord_id_departement_code_reserver_id_year"),
        ),
    )
    op.create_index(
        op.f("ix_issued_reports_landlord_id"), "issued_reports", ["landlord_id"], unique=False
    )
    op.create_index(
        op.f("ix_issued_reports_reserver_id"), "issued_reports", ["reserver_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_issued_reports_reserver_id"), table_name="issued_reports")
    op.drop_index(op.f("ix_issued_reports_landlord_id"), table_name="issued_reports")
    op.drop_table("issued_reports")
    op.drop_index(op.f("ix_alerts_kind"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("job_runs")
