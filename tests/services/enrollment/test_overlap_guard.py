"""No two overlapping coverage periods of one person, under concurrency and in the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from services.enrollment.models import Coverage
from shared.db import Database
from shared.topology import service
from tests.services.enrollment.helpers import BASE, new_person


@pytest.fixture(scope="module")
async def db(database) -> AsyncIterator[Database]:
    spec = service("enrollment")
    handle = Database(database.url_for(spec), schema=spec.schema, pool_size=2)
    yield handle
    await handle.dispose()


async def test_concurrent_overlapping_periods_one_wins(enrollment, auth):
    admin = auth("admin")
    pid = (await new_person(enrollment, admin))["person_id"]
    bodies = [
        {"scheme": "resident", "start_date": f"2024-0{m}-01", "end_date": "2024-12-31"}
        for m in range(1, 7)
    ]
    responses = await asyncio.gather(
        *(enrollment.post(f"{BASE}/persons/{pid}/coverages", json=b, headers=admin) for b in bodies)
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    listed = await enrollment.get(f"{BASE}/persons/{pid}/coverages", headers=admin)
    assert len(listed.json()) == 1


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        (("2024-01-01", "2024-06-30"), ("2024-06-30", None), True),
        (("2024-01-01", "2024-06-30"), ("2024-07-01", None), False),
        (("2024-01-01", None), ("2030-01-01", "2030-01-01"), True),
        (("2024-03-01", "2024-03-01"), ("2024-01-01", "2024-02-29"), False),
    ],
)
async def test_the_database_refuses_overlaps_the_service_did_not_see(
    db, enrollment, auth, first, second, clash
):
    pid = (await new_person(enrollment, auth("admin")))["person_id"]
    row = {"person_id": pid, "scheme": "resident", "recorded_by": "test"}
    async with db.sessions() as session, session.begin():
        await session.execute(
            insert(Coverage).values(**row, start_date=_d(first[0]), end_date=_d(first[1]))
        )
    statement = insert(Coverage).values(**row, start_date=_d(second[0]), end_date=_d(second[1]))
    if clash:
        with pytest.raises(IntegrityError, match="ex_coverages_no_overlap"):
            async with db.sessions() as session, session.begin():
                await session.execute(statement)
    else:
        async with db.sessions() as session, session.begin():
            await session.execute(statement)
    # Another person's identical period never clashes.
    other = (await new_person(enrollment, auth("admin")))["person_id"]
    async with db.sessions() as session, session.begin():
        await session.execute(
            insert(Coverage).values(
                **{**row, "person_id": other}, start_date=_d(first[0]), end_date=_d(first[1])
            )
        )


def _d(value: str | None):
    from datetime import date

    return None if value is None else date.fromisoformat(value)
