"""fund supervision: discharge dates, flags, audit cases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("settlements", sa.Column("discharge_date", sa.Date))
    op.create_index("ix_settlements_person_day", "settlements", ["person_id", "service_date"])
    op.create_table(
        "audit_cases",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("institution_code", sa.String(12), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("fine", sa.Numeric(14, 2), nullable=False),
        sa.Column("recovered", sa.Numeric(14, 2), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        sa.CheckConstraint("fine >= 0 AND recovered >= 0", name="amounts"),
    )
    op.create_index("ix_audit_cases_institution_code", "audit_cases", ["institution_code"])
    op.create_table(
        "audit_flags",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("settlement_id", sa.BigInteger, nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column("institution_code", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("case_id", sa.BigInteger, sa.ForeignKey("audit_cases.id")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_audit_flags_person_id", "audit_flags", ["person_id"])
    op.create_index("ix_audit_flags_institution_code", "audit_flags", ["institution_code", "id"])
    op.create_index("ix_audit_flags_case_id", "audit_flags", ["case_id"])


def downgrade() -> None:
    op.drop_table("audit_flags")
    op.drop_table("audit_cases")
    op.drop_index("ix_settlements_person_day", "settlements")
    op.drop_column("settlements", "discharge_date")
