"""accumulators, settlements partitioned by year, idempotency keys, drug catalog

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(14, 2)
YEARS = range(2020, 2031)


def upgrade() -> None:
    op.create_table(
        "accumulators",
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("pool", sa.String(80), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("person_id", "year", "pool", name="pk_accumulators"),
    )
    op.execute("CREATE SEQUENCE settlements_id_seq AS bigint")
    # Partitioned by service date (issue 7): the primary key must carry the partition key.
    op.execute(
        """
        CREATE TABLE settlements (
            id bigint NOT NULL DEFAULT nextval('settlements_id_seq'),
            service_date date NOT NULL,
            person_id bigint NOT NULL,
            institution_code varchar(12) NOT NULL,
            visit_type varchar(20) NOT NULL,
            disease_code varchar(40),
            scheme varchar(10) NOT NULL,
            policy_code varchar(40) NOT NULL,
            status varchar(10) NOT NULL,
            total numeric(14, 2) NOT NULL,
            out_of_scope numeric(14, 2) NOT NULL,
            policy_scope numeric(14, 2) NOT NULL,
            deductible numeric(14, 2) NOT NULL,
            basic_fund numeric(14, 2) NOT NULL,
            large_amount_subsidy numeric(14, 2) NOT NULL,
            critical_illness numeric(14, 2) NOT NULL,
            medical_assistance numeric(14, 2) NOT NULL,
            personal_pay numeric(14, 2) NOT NULL,
            deltas jsonb NOT NULL,
            accumulators_after jsonb NOT NULL,
            items jsonb NOT NULL,
            client_id varchar(100) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            reversed_at timestamptz,
            CONSTRAINT pk_settlements PRIMARY KEY (id, service_date),
            CONSTRAINT ck_settlements_status CHECK (status IN ('settled', 'reversed'))
        ) PARTITION BY RANGE (service_date)
        """
    )
    op.execute("ALTER SEQUENCE settlements_id_seq OWNED BY settlements.id")
    for year in YEARS:
        op.execute(
            f"CREATE TABLE settlements_{year} PARTITION OF settlements "
            f"FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
        )
    op.execute("CREATE TABLE settlements_default PARTITION OF settlements DEFAULT")
    op.create_index("ix_settlements_id", "settlements", ["id"])
    op.create_index("ix_settlements_person_id", "settlements", ["person_id", "id"])
    op.create_index(
        "ix_settlements_institution", "settlements", ["institution_code", "service_date"]
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", JSONB),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("client_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])

    op.create_table(
        "drugs",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("generic_name", sa.String(200), nullable=False),
        sa.Column("pinyin_initials", sa.String(200), nullable=False),
        sa.Column("dosage_form", sa.String(40), nullable=False),
        sa.Column("specification", sa.String(100), nullable=False),
        sa.Column("manufacturer", sa.String(200), nullable=False),
        sa.Column("category", sa.String(1), nullable=False),
        sa.Column("procured", sa.Boolean, nullable=False),
        sa.Column("procurement_batch", sa.SmallInteger),
        sa.Column("original_price", MONEY),
        sa.Column("winning_bid_price", MONEY),
        sa.Column("cut_percent", sa.Numeric(5, 2)),
        sa.Column("payment_standard", MONEY),
        sa.Column("prescription_only", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("daily_limit", sa.Numeric(10, 2)),
        sa.Column("notes", sa.Text),
        sa.CheckConstraint("category IN ('A', 'B', 'C')", name="category"),
    )
    op.create_index("ix_drugs_generic_name", "drugs", ["generic_name"])
    op.create_index("ix_drugs_pinyin_initials", "drugs", ["pinyin_initials"])


def downgrade() -> None:
    op.drop_table("drugs")
    op.drop_table("idempotency_keys")
    op.execute("DROP TABLE settlements")
    op.drop_table("accumulators")
