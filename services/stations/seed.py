"""Demo data for stations. Idempotent."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.stations.models import ServiceItem

SERVICE_ITEMS: tuple[tuple[str, str, bool], ...] = (
    ("SI01", "参保登记", True),
    ("SI02", "参保信息变更", True),
    ("SI03", "异地就医备案", True),
    ("SI04", "门诊慢特病待遇认定", True),
    ("SI05", "零星医疗费用报销（手工报销）", False),
)
"""The stations issue completes the catalog to the seed's 34 items."""


async def seed(session: AsyncSession) -> str:
    rows = [
        {"code": code, "name": name, "online": online, "position": i}
        for i, (code, name, online) in enumerate(SERVICE_ITEMS, start=1)
    ]
    await session.execute(insert(ServiceItem).on_conflict_do_nothing(), rows)
    return f"{len(rows)} service items"
