"""legal fidelity: préfet derogations, reform EPCIs, convention statuses, loan repayment,
Métropole de Lyon and Ville de Paris among reserver categories

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_CATEGORIES = (
    "etat",
    "action_logement",
    "commune",
    "epci",
    "ept",
    "departement",
    "region",
    "employeur",
    "organisme_desinteresse",
    "autre",
)
_NEW_CATEGORIES = (*_OLD_CATEGORIES, "metropole_lyon", "ville_paris")


def _categories(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values,
        name="reserver_category",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def _set_categories(values: tuple[str, ...], previous: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            op.f("ck_organisations_reserver_category"), "organisations", type_="check"
        )
        listed = ", ".join(f"'{value}'" for value in values)
        op.create_check_constraint(
            op.f("ck_organisations_reserver_category"), "organisations", f"category IN ({listed})"
        )
        return
    with op.batch_alter_table("organisations") as batch_op:
        batch_op.alter_column(
            "category",
            existing_type=_categories(previous),
            type_=_categories(values),
            existing_nullable=True,
        )


def upgrade() -> None:
    _set_categories(_NEW_CATEGORIES, _OLD_CATEGORIES)
    with op.batch_alter_table("conventions") as batch_op:
        batch_op.add_column(sa.Column("imposed_by_arrete", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("imposed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("terminated_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("termination_reference", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("formal_notice_on", sa.Date(), nullable=True))
    with op.batch_alter_table("share_terms") as batch_op:
        batch_op.add_column(sa.Column("loan_repaid_on", sa.Date(), nullable=True))
    op.create_table(
        "etat_derogations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("landlord_id", sa.Integer(), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("arrete_reference", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("etat_cap_bp", sa.Integer(), nullable=False),
        sa.Column("agents_cap_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_etat_derogations_period_ordered")),
        sa.CheckConstraint(
            "etat_cap_bp > 0 AND etat_cap_bp <= 10000 AND agents_cap_bp > 0 "
            "AND agents_cap_bp <= etat_cap_bp",
            name=op.f("ck_etat_derogations_caps"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_etat_derogations_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["departement_code"],
            ["departements.code"],
            name=op.f("fk_etat_derogations_departement_code_departements"),
        ),
        sa.ForeignKeyConstraint(
            ["landlord_id"],
            ["organisations.id"],
            name=op.f("fk_etat_derogations_landlord_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_etat_derogations")),
    )
    with op.batch_alter_table("etat_derogations") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_etat_derogations_landlord_id"), ["landlord_id"], unique=False
        )
    op.create_table(
        "reform_epcis",
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("epci_siren", sa.String(length=9), nullable=False),
        sa.Column(
            "first_quartile_bp", sa.Integer(), server_default=sa.text("2500"), nullable=False
        ),
        sa.Column(
            "other_quartiles_bp", sa.Integer(), server_default=sa.text("5000"), nullable=False
        ),
        sa.CheckConstraint(
            "first_quartile_bp > 0 AND first_quartile_bp <= 10000 "
            "AND other_quartiles_bp > 0 AND other_quartiles_bp <= 10000",
            name=op.f("ck_reform_epcis_rates"),
        ),
        sa.ForeignKeyConstraint(
            ["epci_siren"], ["epcis.siren"], name=op.f("fk_reform_epcis_epci_siren_epcis")
        ),
        sa.PrimaryKeyConstraint("year", "epci_siren", name=op.f("pk_reform_epcis")),
    )


def downgrade() -> None:
    op.drop_table("reform_epcis")
    with op.batch_alter_table("etat_derogations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_etat_derogations_landlord_id"))
    op.drop_table("etat_derogations")
    with op.batch_alter_table("share_terms") as batch_op:
        batch_op.drop_column("loan_repaid_on")
    with op.batch_alter_table("conventions") as batch_op:
        batch_op.drop_column("formal_notice_on")
        batch_op.drop_column("termination_reference")
        batch_op.drop_column("terminated_on")
        batch_op.drop_column("imposed_on")
        batch_op.drop_column("imposed_by_arrete")
    _set_categories(_OLD_CATEGORIES, _NEW_CATEGORIES)
