"""Demo data for claims. Idempotent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.catalog import demo_drugs
from services.claims.domain.policy import BZ_2022
from services.claims.models import BenefitPolicy, Drug

BZ_2022_PARAMETERS = BZ_2022.model_dump(mode="json")
"""Every figure of DOMAIN.md 3.3, as stored in the JSONB column."""


async def seed(session: AsyncSession) -> str:
    await session.execute(
        insert(BenefitPolicy)
        .values(
            code="BZ-2022",
            effective_from=date(2022, 1, 1),
            description="Default benefit policy after the Binzhou 2022 figures",
            parameters=BZ_2022_PARAMETERS,
        )
        # The seed owns the default version: a database seeded before every figure was in it
        # gets them now.
        .on_conflict_do_update(
            index_elements=[BenefitPolicy.code],
            set_={"parameters": BZ_2022_PARAMETERS},
        )
    )
    await session.execute(insert(Drug).on_conflict_do_nothing(), demo_drugs())
    drugs = await session.scalar(select(func.count()).select_from(Drug))
    return f"benefit policy BZ-2022, {drugs} catalog drugs"
