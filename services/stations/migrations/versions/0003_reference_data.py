"""reference data: the 34 service items, station types and their duties

The service cannot answer without them (a station's type, the items searched by), so they come
with the schema rather than with the demo data; the seed brings them up to date on every run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.stations.catalog import SERVICE_ITEMS, STATION_TYPES

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    for position, item in enumerate(SERVICE_ITEMS, start=1):
        bind.execute(
            sa.text(
                "insert into service_items (code, name, online, position, scheme) "
                "values (:code, :name, :online, :position, :scheme) "
                "on conflict (code) do update set name = excluded.name, "
                "online = excluded.online, position = excluded.position, scheme = excluded.scheme"
            ),
            {"code": item.code, "name": item.name, "online": item.online,
             "position": position, "scheme": item.scheme.value},
        )  # fmt: skip
    for position, kind in enumerate(STATION_TYPES, start=1):
        bind.execute(
            sa.text(
                "insert into station_types (code, name, level, position, assumed) "
                "values (:code, :name, :level, :position, :assumed) on conflict do nothing"
            ),
            {"code": kind.code, "name": kind.name, "level": kind.level.value,
             "position": position, "assumed": kind.assumed},
        )  # fmt: skip
        for item in kind.items:
            bind.execute(
                sa.text(
                    "insert into station_type_items (station_type, item_code) "
                    "values (:type, :item) on conflict do nothing"
                ),
                {"type": kind.code, "item": item},
            )


def downgrade() -> None:
    op.execute("delete from station_type_items")
    op.execute("delete from station_types")
