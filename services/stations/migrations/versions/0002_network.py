"""regions, station types, stations, institutions, pharmacy inventory, video requests

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

SEEDED_ID_CEILING = 100_000


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "service_items",
        sa.Column("scheme", sa.String(10), nullable=False, server_default="both"),
    )
    op.create_table(
        "regions",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("parent_code", sa.String(12)),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("population", sa.Integer),
        sa.CheckConstraint("level in ('county', 'township', 'village')", name="ck_regions_level"),
    )
    op.create_index("ix_regions_parent_code", "regions", ["parent_code"])
    op.create_table(
        "station_types",
        sa.Column("code", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("assumed", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "station_type_items",
        sa.Column(
            "station_type",
            sa.String(30),
            sa.ForeignKey("station_types.code", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "item_code", sa.String(20), sa.ForeignKey("service_items.code"), primary_key=True
        ),
    )
    op.create_table(
        "stations",
        sa.Column(
            "id",
            sa.BigInteger,
            sa.Identity(start=SEEDED_ID_CEILING + 1),
            primary_key=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "station_type", sa.String(30), sa.ForeignKey("station_types.code"), nullable=False
        ),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("address", sa.String(300)),
        sa.Column("opening_hours", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(30)),
        sa.Column("institution_code", sa.String(12)),
        _created_at(),
    )
    op.create_index("ix_stations_station_type", "stations", ["station_type"])
    op.create_index("ix_stations_region_code", "stations", ["region_code"])
    # The nearby search's bounding box is a point-in-box test this index answers
    # (core PostgreSQL, no PostGIS); the exact distance is computed on the few rows it returns.
    op.execute("CREATE INDEX ix_stations_location ON stations USING gist (point(lon, lat))")
    op.create_table(
        "station_items",
        sa.Column(
            "station_id",
            sa.BigInteger,
            sa.ForeignKey("stations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "item_code", sa.String(20), sa.ForeignKey("service_items.code"), primary_key=True
        ),
    )
    op.create_index("ix_station_items_item_code", "station_items", ["item_code", "station_id"])
    op.create_table(
        "institutions",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("tier", sa.SmallInteger),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("designated", sa.Boolean, nullable=False, server_default=sa.true()),
        _created_at(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("kind in ('hospital', 'pharmacy')", name="ck_institutions_kind"),
        sa.CheckConstraint("tier is null or tier between 1 and 3", name="ck_institutions_tier"),
    )
    op.create_index("ix_institutions_kind", "institutions", ["kind"])
    op.create_index("ix_institutions_region_code", "institutions", ["region_code"])
    op.execute("CREATE INDEX ix_institutions_location ON institutions USING gist (point(lon, lat))")
    op.create_table(
        "pharmacy_inventory",
        sa.Column(
            "pharmacy_code",
            sa.String(12),
            sa.ForeignKey("institutions.code", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("drug_code", sa.String(40), primary_key=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("payment_standard", sa.Numeric(12, 2)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("stock >= 0", name="ck_pharmacy_inventory_stock"),
        sa.CheckConstraint("price >= 0", name="ck_pharmacy_inventory_price"),
    )
    op.create_index(
        "ix_pharmacy_inventory_drug_code", "pharmacy_inventory", ["drug_code", "pharmacy_code"]
    )
    op.create_table(
        "video_requests",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("person_id", sa.BigInteger, nullable=False),
        sa.Column(
            "station_id",
            sa.BigInteger,
            sa.ForeignKey("stations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("item_code", sa.String(20), sa.ForeignKey("service_items.code"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500)),
        _created_at(),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("handled_by", sa.String(100)),
    )
    op.create_index("ix_video_requests_queue", "video_requests", ["station_id", "status", "id"])
    op.create_index("ix_video_requests_person_id", "video_requests", ["person_id", "id"])
    op.create_table(
        "handled_items",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "station_id",
            sa.BigInteger,
            sa.ForeignKey("stations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("item_code", sa.String(20), sa.ForeignKey("service_items.code"), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("person_id", sa.BigInteger),
        sa.Column(
            "video_request_id",
            sa.BigInteger,
            sa.ForeignKey("video_requests.id", ondelete="SET NULL"),
        ),
        sa.Column(
            "handled_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("video_request_id", name="uq_handled_items_video_request_id"),
    )
    op.create_index("ix_handled_items_station", "handled_items", ["station_id", "handled_at"])


def downgrade() -> None:
    for table in (
        "handled_items",
        "video_requests",
        "pharmacy_inventory",
        "institutions",
        "station_items",
        "stations",
        "station_type_items",
        "station_types",
        "regions",
    ):
        op.drop_table(table)
    op.drop_column("service_items", "scheme")
