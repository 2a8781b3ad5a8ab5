"""The demo seed and the benchmark's bulk load, on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from services.enrollment import seed as enrollment_seed
from services.enrollment.models import (
    Contribution,
    Coverage,
    OffsiteFiling,
    Person,
    Qualification,
)
from shared.db import Database
from shared.regions import is_known_in_city
from shared.topology import service
from shared.validators import validate_id_number


@pytest.fixture(scope="module")
async def db(database) -> AsyncIterator[Database]:
    spec = service("enrollment")
    handle = Database(database.url_for(spec), schema=spec.schema, pool_size=2)
    yield handle
    await handle.dispose()


async def count(db: Database, query) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_seed_twice_adds_nothing_the_second_time(db):
    async with db.sessions() as session, session.begin():
        await enrollment_seed.seed(session)
    seeded = select(func.count()).select_from(Coverage).where(Coverage.recorded_by == "seed")
    counts = [
        await count(db, select(func.count()).select_from(Person)),
        await count(db, seeded),
        await count(db, select(func.count()).select_from(Qualification)),
        await count(db, select(func.count()).select_from(OffsiteFiling)),
        await count(db, select(func.count()).select_from(Contribution)),
    ]
    async with db.sessions() as session, session.begin():
        summary = await enrollment_seed.seed(session)
    assert "already there" in summary
    assert counts == [
        await count(db, select(func.count()).select_from(Person)),
        await count(db, seeded),
        await count(db, select(func.count()).select_from(Qualification)),
        await count(db, select(func.count()).select_from(OffsiteFiling)),
        await count(db, select(func.count()).select_from(Contribution)),
    ]
    assert counts[1] >= enrollment_seed.DEMO_PERSONS  # everyone has at least one period
    demo = enrollment_seed.demo_people(enrollment_seed.DEMO_PERSONS)
    assert all(is_known_in_city(str(p["region_code"])) for p in demo)
    assert all(validate_id_number(str(p["id_number"])) for p in demo)
    async with db.sessions() as session:
        schemes = dict(
            (
                await session.execute(
                    select(Coverage.scheme, func.count())
                    .where(Coverage.recorded_by == "seed")
                    .group_by(Coverage.scheme)
                )
            ).all()
        )
        retired = await session.scalar(
            select(func.count()).select_from(Coverage).where(Coverage.retired)
        )
        poverty_paid = await session.scalar(
            select(func.count())
            .select_from(Contribution)
            .where(Contribution.payer == "government", Contribution.recorded_by == "seed")
        )
    assert schemes["employee"] > 500 and schemes["resident"] > 1000
    assert retired and retired > 50
    assert poverty_paid and poverty_paid > 50


async def test_bench_load_fills_up_to_n_persons_with_coverage_once(db):
    before = await count(db, select(func.count()).select_from(Person))
    target = before + 300
    async with db.sessions() as session, session.begin():
        await enrollment_seed.load_bench_data(session, n=target)
    assert await count(db, select(func.count()).select_from(Person)) == target
    bench_covered = (
        select(func.count()).select_from(Coverage).where(Coverage.recorded_by == "bench")
    )
    covered = await count(db, bench_covered)
    assert covered >= 300
    async with db.sessions() as session, session.begin():
        summary = await enrollment_seed.load_bench_data(session, n=target)
    assert "already there" in summary
    assert await count(db, bench_covered) == covered


def test_bench_id_numbers_are_valid_and_distinct():
    numbers = [enrollment_seed.bench_person(i)[0] for i in range(20_000)]
    assert len(set(numbers)) == len(numbers)
    assert all(validate_id_number(n) == n for n in numbers[:2000])
    assert not any(n.startswith("3716") for n in numbers)
