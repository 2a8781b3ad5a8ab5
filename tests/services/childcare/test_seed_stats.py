"""The demo seed (twice, on the test database) and the county statistics over it."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from services.childcare import seed as childcare_seed
from services.childcare.models import (
    Ban,
    BanFlag,
    Draw,
    Filing,
    FilingEvent,
    Inspection,
    Inspector,
    Institution,
    Staff,
)
from shared.db import Database
from shared.regions import counties
from shared.topology import service
from tests.services.childcare.helpers import API, reviewer

MODELS = (Institution, Filing, FilingEvent, Staff, Ban, BanFlag, Inspector, Inspection, Draw)


@pytest.fixture(scope="module")
async def db(database) -> AsyncIterator[Database]:
    spec = service("childcare")
    handle = Database(database.url_for(spec), schema=spec.schema, pool_size=2)
    yield handle
    await handle.dispose()


async def counts(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        return {
            m.__tablename__: int(await session.scalar(select(func.count()).select_from(m)) or 0)
            for m in MODELS
        }


async def test_seed_twice_adds_nothing_the_second_time(db):
    before = await counts(db)
    async with db.sessions() as session, session.begin():
        summary = await childcare_seed.seed(session)
    once = await counts(db)
    demo = childcare_seed.demo_institutions()
    assert once["institutions"] - before["institutions"] == len(demo)
    assert once["bans"] - before["bans"] >= 1 and once["ban_flags"] > before["ban_flags"]
    assert once["draws"] - before["draws"] == 1
    assert "institutions" in summary
    async with db.sessions() as session, session.begin():
        await childcare_seed.seed(session)
    assert await counts(db) == once

    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(Institution.region_code, Filing.state, Filing.filing_number)
                .join(Filing, Filing.institution_id == Institution.id)
                .where(Institution.uscc.in_([d.uscc for d in demo]))
            )
        ).all()
        first = await session.scalar(select(Institution).where(Institution.uscc == demo[0].uscc))
    assert first is not None and first.region_code.startswith("371602")
    assert {r[0][:6] for r in rows} == {c.code for c in counties()}
    states = {r[1] for r in rows}
    assert {"approved", "draft", "submitted", "returned"} <= states
    assert all(r[2] for r in rows if r[1] == "approved")


async def test_county_stats_against_the_targets(childcare, auth, db):
    async with db.sessions() as session, session.begin():
        await childcare_seed.seed(session)
    response = await childcare.get(f"{API}/stats/counties", headers=reviewer(auth))
    assert response.status_code == 200
    stats = response.json()
    assert [c["county_code"] for c in stats["counties"]] == [c.code for c in counties()]
    for county in stats["counties"]:
        assert {(t["year"], t["metric"]) for t in county["targets"]} == {
            (2023, "well_run"),
            (2025, "demonstration"),
        }
        for target in county["targets"]:
            assert target["met"] == (target["actual"] >= target["minimum"])
        assert county["approved"] >= county["well_run"]
    city_target = next(t for t in stats["city"]["targets"] if t["year"] == 2023)
    assert city_target["minimum"] == 3 and city_target["met"] is True
    wudi = next(c for c in stats["counties"] if c["county_code"] == "371623")
    assert wudi["approved"] >= 1
    assert (await childcare.get(f"{API}/stats/counties")).status_code == 401


async def test_bench_loader_is_idempotent_and_searchable(childcare, db):
    bench = (
        select(func.count())
        .select_from(Institution)
        .where(Institution.name.startswith(childcare_seed.BENCH_PREFIX))
    )
    for _ in range(2):
        async with db.sessions() as session, session.begin():
            assert await childcare_seed.load_bench_data(session, n=40) == 40
        async with db.sessions() as session:
            assert await session.scalar(bench) == 40
    township = counties()[0]
    response = await childcare.get(
        f"{API}/public/institutions?lat={township.lat}&lon={township.lon}&limit=100"
    )
    items = response.json()["items"]
    assert any(i["name"].startswith(childcare_seed.BENCH_PREFIX) for i in items)
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)
