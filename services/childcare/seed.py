"""Demo data for childcare. Idempotent."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.childcare.models import Institution
from shared.validators import make_uscc


async def seed(session: AsyncSession) -> str:
    rows = [
        {
            "uscc": make_uscc("52371602MJ000001"[:16] + "0"),
            "name": "滨城区爱心托育园",
            "region_code": "371602001",
        },
        {
            "uscc": make_uscc("9137160200000002"[:16] + "A"),
            "name": "邹平市小太阳托育中心",
            "region_code": "371681001",
        },
    ]
    await session.execute(insert(Institution).on_conflict_do_nothing(), rows)
    return f"{len(rows)} childcare institutions"
