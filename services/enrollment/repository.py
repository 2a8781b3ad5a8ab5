"""Queries on the enrollment tables."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.models import Person


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def by_id_number(self, id_number: str) -> Person | None:
        return await self.session.scalar(select(Person).where(Person.id_number == id_number))

    async def page(self, after: int | None, limit: int, region_prefix: str | None) -> list[Person]:
        query = select(Person).order_by(Person.id).limit(limit)
        if after is not None:
            query = query.where(Person.id > after)
        if region_prefix:
            query = query.where(Person.region_code.startswith(region_prefix))
        return list(await self.session.scalars(query))
