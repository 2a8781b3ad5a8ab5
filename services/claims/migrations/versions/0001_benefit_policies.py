"""benefit policies

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "benefit_policies",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("effective_from", name="uq_benefit_policies_effective_from"),
    )


def downgrade() -> None:
    op.drop_table("benefit_policies")
