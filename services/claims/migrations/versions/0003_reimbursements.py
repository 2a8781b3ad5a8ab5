"""manual reimbursements and the holiday calendar

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.SmallInteger, primary_key=True),
        sa.Column("holidays", JSONB, nullable=False),
        sa.Column("workdays", JSONB, nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "reimbursements",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column("institution_code", sa.String(12), nullable=False),
        sa.Column("visit_type", sa.String(20), nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column("disease_code", sa.String(40)),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("receipts", JSONB, nullable=False),
        sa.Column("total", sa.Numeric(14, 2), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("submitted_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("deadline_provisional", sa.Boolean, nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.String(500)),
        sa.Column("decision", JSONB),
        sa.Column("deltas", JSONB),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('submitted', 'approved', 'rejected', 'paid')", name="status"
        ),
    )
    op.create_index("ix_reimbursements_status_deadline", "reimbursements", ["status", "deadline"])
    op.create_index("ix_reimbursements_person_id", "reimbursements", ["person_id", "id"])


def downgrade() -> None:
    op.drop_table("reimbursements")
    op.drop_table("calendar_years")
