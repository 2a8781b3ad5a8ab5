"""Demo data for claims. Idempotent."""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.models import BenefitPolicy

BZ_2022_PARAMETERS = {
    "employee": {"general_outpatient": {"rate": "0.65", "annual_cap": "3000.00"}},
    "resident": {"general_outpatient": {"rate": "0.60", "annual_cap": "400.00"}},
}
"""Filled in with every figure of DOMAIN.md 3.3 by the claims issue."""


async def seed(session: AsyncSession) -> str:
    await session.execute(
        insert(BenefitPolicy)
        .values(
            code="BZ-2022",
            effective_from=date(2022, 1, 1),
            description="Default benefit policy after the Binzhou 2022 figures",
            parameters=BZ_2022_PARAMETERS,
        )
        .on_conflict_do_nothing()
    )
    return "benefit policy BZ-2022"
