"""employers, coverages, qualifications, off-site filings, access log, contributions, transfers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recorded() -> list[sa.Column]:
    return [
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("station_id", sa.String(40)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "employers",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("uscc", name="uq_employers_uscc"),
    )

    op.create_table(
        "coverages",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("scheme", sa.String(10), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("employer_uscc", sa.String(18), sa.ForeignKey("employers.uscc")),
        *_recorded(),
        sa.CheckConstraint("scheme in ('employee', 'resident')", name="scheme"),
        sa.CheckConstraint("end_date is null or end_date >= start_date", name="period"),
        sa.CheckConstraint(
            "start_date >= date '1900-01-01' and coalesce(end_date, start_date) <= date '2172-12-31'",
            name="day_range",
        ),
        sa.CheckConstraint(
            "scheme = 'employee' or (employer_uscc is null and not retired)", name="resident"
        ),
    )
    op.create_index("ix_coverages_person_start", "coverages", ["person_id", "start_date"])
    op.create_index("ix_coverages_employer", "coverages", ["employer_uscc"])
    # No two overlapping periods of one person, enforced by the database too. The usual
    # EXCLUDE (person_id WITH =, daterange WITH &&) needs btree_gist, which the service role may
    # not install; instead each period becomes one int8 range person_id * 100000 + day number
    # (days since 1900-01-01, < 100000 until 2173), and ranges of different persons never meet.
    op.execute(
        """
        ALTER TABLE coverages ADD CONSTRAINT ex_coverages_no_overlap EXCLUDE USING gist (
            int8range(
                person_id * 100000 + (start_date - date '1900-01-01'),
                person_id * 100000 + (coalesce(end_date, date '2172-12-31') - date '1900-01-01'),
                '[]'
            ) WITH &&
        )
        """
    )

    op.create_table(
        "qualifications",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("disease_code", sa.String(40), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancel_reason", sa.String(500)),
        *_recorded(),
        sa.CheckConstraint("kind in ('chronic', 'two_disease')", name="kind"),
        sa.CheckConstraint("end_date is null or end_date >= start_date", name="period"),
    )
    op.create_index(
        "ix_qualifications_person_active",
        "qualifications",
        ["person_id", "start_date"],
        postgresql_where=sa.text("cancelled_at is null"),
    )

    op.create_table(
        "offsite_filings",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("destination_region", sa.String(12), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancel_reason", sa.String(500)),
        *_recorded(),
        sa.CheckConstraint("kind in ('long_term', 'referral', 'emergency')", name="kind"),
        sa.CheckConstraint("end_date >= start_date", name="period"),
        sa.CheckConstraint("destination_region not like '3716%'", name="offsite"),
    )
    op.create_index(
        "ix_offsite_filings_person_active",
        "offsite_filings",
        ["person_id", "start_date"],
        postgresql_where=sa.text("cancelled_at is null"),
    )

    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("client_kind", sa.String(24), nullable=False),
        sa.Column("client_bound", sa.String(40)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_access_log_person", "access_log", ["person_id", "id"])
    op.create_index("ix_access_log_client", "access_log", ["client_id", "id"])

    op.create_table(
        "contribution_batches",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("amount_per_person", sa.Numeric(12, 2), nullable=False),
        sa.Column("persons", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Numeric(14, 2), nullable=False, server_default="0"),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "contributions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("scheme", sa.String(10), nullable=False),
        sa.Column("payer", sa.String(12), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("batch_id", sa.BigInteger, sa.ForeignKey("contribution_batches.id")),
        *_recorded(),
        sa.CheckConstraint("scheme in ('employee', 'resident')", name="scheme"),
        sa.CheckConstraint("payer in ('person', 'employer', 'government')", name="payer"),
        sa.CheckConstraint("amount > 0", name="amount"),
    )
    op.create_index("ix_contributions_person", "contributions", ["person_id", "year"])
    # A person's year is paid by the government at most once, whatever batches are run.
    op.create_index(
        "uq_contributions_government_year",
        "contributions",
        ["person_id", "year"],
        unique=True,
        postgresql_where=sa.text("payer = 'government'"),
    )

    op.create_table(
        "transfers",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("other_region", sa.String(12), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(10), nullable=False, server_default="requested"),
        sa.Column("reason", sa.String(500)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        *_recorded(),
        sa.CheckConstraint("direction in ('in', 'out')", name="direction"),
        sa.CheckConstraint(
            "state in ('requested', 'approved', 'rejected', 'completed')", name="state"
        ),
        sa.CheckConstraint("other_region not like '3716%'", name="offsite"),
    )
    op.create_index("ix_transfers_person", "transfers", ["person_id"])


def downgrade() -> None:
    for table in (
        "transfers",
        "contributions",
        "contribution_batches",
        "access_log",
        "offsite_filings",
        "qualifications",
        "coverages",
        "employers",
    ):
        op.drop_table(table)
