"""The demo network: seeded twice, it has the seed's shape, and coverage answers for it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.stations.models import Institution, InventoryRow, Region, Station, StationItem
from services.stations.seed import PROCURED_DRUGS, load_bench_data, seed
from shared.db import Database
from shared.topology import service

pytestmark = pytest.mark.xdist_group("stations-seed")


@pytest.fixture(scope="module")
async def seeded(database):
    db = Database(database.url_for(service("stations")), schema="stations", pool_size=1)
    summaries = []
    try:
        for _ in range(2):
            async with db.sessions() as session, session.begin():
                summaries.append(await seed(session))
        yield db, summaries
    finally:
        await db.dispose()


async def test_seed_twice_gives_the_seed_counts(seeded):
    db, summaries = seeded
    assert summaries[0] == summaries[1]
    async with db.sessions() as session:
        per_type = dict(
            (
                await session.execute(
                    select(Station.station_type, func.count())
                    .where(Station.id <= 100_000)
                    .group_by(Station.station_type)
                )
            ).all()
        )
        assert per_type == {"township": 90, "community": 28, "public_hospital": 26,
                            "private_hospital": 32, "primary_medical": 92,
                            "village_clinic": 1484}  # fmt: skip
        assert sum(per_type.values()) == 1752
        first = await session.get(Station, 1)
        assert first is not None and first.station_type == "township"
        hospital = await session.get(Institution, "H37160200001")
        assert hospital is not None and hospital.tier in (2, 3)
        assert hospital.region_code.startswith("3716")
        pharmacy = await session.get(Institution, "P37160200007")
        assert pharmacy is not None and pharmacy.kind == "pharmacy"
        tiers = set(
            await session.scalars(select(Institution.tier).where(Institution.kind == "hospital"))
        )
        assert {1, 2, 3} <= tiers
        offsite = await session.scalar(
            select(func.count())
            .select_from(Institution)
            .where(~Institution.region_code.startswith("3716"))
        )
        assert offsite and offsite >= 3
        pharmacies = list(
            await session.scalars(
                select(Institution.code).where(
                    Institution.kind == "pharmacy", Institution.name.like("%医保定点药店")
                )
            )
        )
        assert len(pharmacies) == 207
        stocked = await session.execute(
            select(InventoryRow.pharmacy_code, func.count())
            .where(InventoryRow.pharmacy_code.in_(pharmacies))
            .group_by(InventoryRow.pharmacy_code)
        )
        counts = [n for _, n in stocked]
        assert len(counts) == 207 and 34 <= sum(counts) / len(counts) <= 38
        drugs = set(await session.scalars(select(InventoryRow.drug_code).distinct()))
        assert set(PROCURED_DRUGS) <= drugs
        villages = await session.scalar(
            select(func.count()).select_from(Region).where(Region.level == "village")
        )
        assert villages and villages >= 1484


async def test_catalog_and_duties_read_back(seeded, stations):
    items = (await stations.get("/stations/v1/service-items")).json()
    assert len(items) == 34 and sum(not i["online"] for i in items) == 2
    types = {t["code"]: t for t in (await stations.get("/stations/v1/station-types")).json()}
    hall = types["county_hall"]
    assert (hall["employee_items"], hall["resident_items"]) == (23, 14)
    assert {code: len(types[code]["items"]) for code in
            ("township", "public_hospital", "private_hospital", "village_clinic",
             "grid_worker")} == {"township": 9, "public_hospital": 8, "private_hospital": 4,
                                 "village_clinic": 3, "grid_worker": 2}  # fmt: skip
    station = (await stations.get("/stations/v1/stations/1")).json()
    assert station["items"] == sorted(types["township"]["items"])
    village = (await stations.get("/stations/v1/regions/371602101001")).status_code
    assert village == 404  # township 101 does not exist
    listed = await stations.get("/stations/v1/regions", params={"parent": "371602001"})
    assert listed.json()["items"] and all(
        r["code"].startswith("371602001") and len(r["code"]) == 12 for r in listed.json()["items"]
    )


async def test_coverage_answers_for_the_seeded_network(seeded, stations):
    db, _ = seeded
    r = await stations.get(
        "/stations/v1/coverage",
        params={"mode": "walk", "minutes": 15, "item": "SI26", "limit": 10_000},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["villages"] >= 1484 and 0 < body["villages_uncovered"] < body["villages"]
    assert body["population_covered"] < body["population"]
    assert body["covered_share"] == pytest.approx(
        body["population_covered"] / body["population"], abs=1e-5
    )
    assert len(body["uncovered"]) == body["villages_uncovered"]
    pops = [v["population"] for v in body["uncovered"]]
    assert pops == sorted(pops, reverse=True)

    # Each uncovered village really has no SI26 station within 15 minutes on foot, as the
    # nearby search (same travel model, other code path) sees it.
    async with db.sessions() as session:
        for village in body["uncovered"][:25]:
            region = await session.get(Region, village["code"])
            assert region is not None
            near = await stations.get(
                "/stations/v1/stations/nearby",
                params={"lat": region.lat, "lon": region.lon, "item": "SI26", "mode": "walk"},
            )
            assert near.json()["items"] == []

    by_car = (await stations.get("/stations/v1/coverage", params={"mode": "car"})).json()
    assert by_car["villages_uncovered"] == 0 and by_car["covered_share"] == 1.0
    assert (await stations.get("/stations/v1/coverage", params={"item": "SI99"})).status_code == 422


async def test_bench_loader_is_idempotent(seeded):
    db, _ = seeded
    async with db.sessions() as session, session.begin():
        await load_bench_data(session, n_stations=300, batch=120)
    async with db.sessions() as session, session.begin():
        again = await load_bench_data(session, n_stations=300)
    assert "already there" in again
    async with db.sessions() as session:
        bench = await session.scalar(
            select(func.count()).select_from(Station).where(Station.name.startswith("BENCH "))
        )
        assert bench == 300
        # Bench stations take generated ids, above the demo network's, and their type's duties.
        without_items = await session.scalar(
            select(func.count())
            .select_from(Station)
            .where(
                Station.name.startswith("BENCH "),
                ~select(StationItem.station_id)
                .where(StationItem.station_id == Station.id)
                .exists(),
            )
        )
        assert without_items == 0
        lowest = await session.scalar(
            select(func.min(Station.id)).where(Station.name.startswith("BENCH "))
        )
        assert lowest is not None and lowest > 100_000


def test_yibao_seed_gives_pharmacies_the_claims_catalogs_payment_standards():
    from cli.stack import demo_links
    from services.claims.catalog import demo_drugs
    from services.stations.seed import demo_inventory

    standards = demo_links()["stations"]["payment_standards"]
    catalog = {row["code"]: row["payment_standard"] for row in demo_drugs()}
    assert set(standards) == set(PROCURED_DRUGS)
    rows = demo_inventory(["P37160200007"], standards)
    assert rows and all(row["payment_standard"] == catalog[row["drug_code"]] for row in rows)
    # Some shelf prices above the standard, as the demo means to show.
    assert any(row["price"] > row["payment_standard"] for row in rows)
