"""institution particulars, filings, staff and bans, inspections, draws, targets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.func.now()


def upgrade() -> None:
    # Rows made under 0001 get neutral particulars (the seed fills the demo ones in).
    for name, type_, default in (
        ("nature", sa.String(16), "non_profit"),
        ("registration_authority", sa.String(24), "civil_affairs"),
        ("form", sa.String(24), "standalone"),
        ("address", sa.String(300), ""),
        ("service_modes", ARRAY(sa.String(16)), "{}"),
        ("facilities", JSONB, "{}"),
        ("demonstration", sa.Boolean, "false"),
    ):
        op.add_column(
            "institutions",
            sa.Column(name, type_, nullable=False, server_default=sa.text(f"'{default}'")),
        )
        op.alter_column("institutions", name, server_default=None)
    op.add_column("institutions", sa.Column("lat", sa.Double))
    op.add_column("institutions", sa.Column("lon", sa.Double))
    op.add_column("institutions", sa.Column("phone", sa.String(20)))
    op.add_column(
        "institutions",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
    )
    # The public search's bounding box (a radius) is a range scan on latitude.
    op.create_index("ix_institutions_lat_lon", "institutions", ["lat", "lon"])
    op.create_check_constraint("nature", "institutions", "nature in ('non_profit', 'for_profit')")

    op.create_table(
        "capacities",
        sa.Column(
            "institution_id",
            sa.BigInteger,
            sa.ForeignKey("institutions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("age_group", sa.String(16), primary_key=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("enrolled", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("capacity >= 0 and enrolled >= 0", name="non_negative"),
    )
    op.create_table(
        "fees",
        sa.Column(
            "institution_id",
            sa.BigInteger,
            sa.ForeignKey("institutions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("service_mode", sa.String(16), primary_key=True),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
    )
    op.create_table(
        "filings",
        sa.Column(
            "institution_id",
            sa.BigInteger,
            sa.ForeignKey("institutions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("filing_number", sa.String(40)),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("filed_on", sa.Date),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.UniqueConstraint("filing_number", name="uq_filings_filing_number"),
    )
    op.create_index("ix_filings_state", "filings", ["state"])
    op.execute("insert into filings (institution_id, state) select id, 'draft' from institutions")
    op.create_table(
        "filing_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "institution_id",
            sa.BigInteger,
            sa.ForeignKey("institutions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", JSONB),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.UniqueConstraint("institution_id", "seq", name="uq_filing_events_institution_id"),
    )
    op.create_index("ix_filing_events_institution_id", "filing_events", ["institution_id"])
    op.create_table(
        "filing_number_counters",
        sa.Column("county_code", sa.String(6), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )

    op.create_table(
        "staff",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "institution_id",
            sa.BigInteger,
            sa.ForeignKey("institutions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("qualification", sa.String(200)),
        sa.Column("phone", sa.String(20)),
        sa.Column("health_check_on", sa.Date),
        sa.Column("training_hours", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_training_on", sa.Date),
        sa.Column("hired_on", sa.Date, nullable=False),
        sa.Column("left_on", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
    )
    op.create_index("ix_staff_institution_id", "staff", ["institution_id"])
    op.create_index("ix_staff_id_number", "staff", ["id_number"])
    # One current employment per person per institution.
    op.create_index(
        "uq_staff_current",
        "staff",
        ["institution_id", "id_number"],
        unique=True,
        postgresql_where=sa.text("left_on is null"),
    )
    op.create_table(
        "bans",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("banned_by", sa.String(100), nullable=False),
        sa.Column("banned_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.UniqueConstraint("id_number", name="uq_bans_id_number"),
    )
    op.create_table(
        "ban_flags",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("ban_id", sa.BigInteger, sa.ForeignKey("bans.id"), nullable=False),
        sa.Column(
            "institution_id", sa.BigInteger, sa.ForeignKey("institutions.id"), nullable=False
        ),
        sa.Column("staff_id", sa.BigInteger, sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("ban_id", "staff_id", name="uq_ban_flags_ban_id"),
    )
    op.create_index("ix_ban_flags_ban_id", "ban_flags", ["ban_id"])
    op.create_index("ix_ban_flags_institution_id", "ban_flags", ["institution_id"])

    op.create_table(
        "inspectors",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.UniqueConstraint("code", name="uq_inspectors_code"),
    )
    op.create_index("ix_inspectors_region_code", "inspectors", ["region_code"])
    op.create_table(
        "draws",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("institution_count", sa.Integer, nullable=False),
        sa.Column("inspector_count", sa.Integer, nullable=False),
        sa.Column("candidate_institution_ids", ARRAY(sa.BigInteger), nullable=False),
        sa.Column("candidate_inspector_ids", ARRAY(sa.BigInteger), nullable=False),
        sa.Column("institution_ids", ARRAY(sa.BigInteger), nullable=False),
        sa.Column("inspector_ids", ARRAY(sa.BigInteger), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_draws_region_code", "draws", ["region_code"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "institution_id", sa.BigInteger, sa.ForeignKey("institutions.id"), nullable=False
        ),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("inspected_on", sa.Date, nullable=False),
        sa.Column("inspector_ids", ARRAY(sa.BigInteger), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("findings", JSONB, nullable=False),
        sa.Column("rectification_deadline", sa.Date),
        sa.Column("rectified_on", sa.Date),
        sa.Column("reinspection_of", sa.BigInteger, sa.ForeignKey("inspections.id")),
        sa.Column("draw_id", sa.BigInteger, sa.ForeignKey("draws.id")),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
    )
    op.create_index("ix_inspections_institution_id", "inspections", ["institution_id"])

    targets = op.create_table(
        "targets",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("metric", sa.String(16), primary_key=True),
        sa.Column("minimum", sa.Integer, nullable=False),
    )
    # The seed's targets (DOMAIN.md section 5).
    op.bulk_insert(
        targets,
        [
            {"year": 2023, "scope": "county", "metric": "well_run", "minimum": 1},
            {"year": 2023, "scope": "city", "metric": "demonstration", "minimum": 3},
            {"year": 2025, "scope": "county", "metric": "demonstration", "minimum": 1},
        ],
    )


def downgrade() -> None:
    for table in (
        "targets",
        "inspections",
        "draws",
        "inspectors",
        "ban_flags",
        "bans",
        "staff",
        "filing_number_counters",
        "filing_events",
        "filings",
        "fees",
        "capacities",
    ):
        op.drop_table(table)
    op.drop_constraint("ck_institutions_nature", "institutions", type_="check")
    op.drop_index("ix_institutions_lat_lon", "institutions")
    for name in (
        "nature",
        "registration_authority",
        "form",
        "address",
        "service_modes",
        "facilities",
        "demonstration",
        "lat",
        "lon",
        "phone",
        "updated_at",
    ):
        op.drop_column("institutions", name)
