"""The 15-minute circle: nearby returns exactly the stations in reach, nearest first."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.stations.domain.geo import (
    DEFAULT_TRAVEL_MODEL,
    TravelMode,
    bounding_box,
    haversine_m,
)
from shared.db import Database
from shared.topology import service

from .conftest import offset, remote_point

NEARBY = "/stations/v1/stations/nearby"


async def _station(stations, auth, lat, lon, *, station_type="township", items=None, name="站"):
    body = {"name": name, "station_type": station_type, "region_code": "371602001",
            "lat": lat, "lon": lon}  # fmt: skip
    if items is not None:
        body["items"] = items
    r = await stations.post("/stations/v1/stations", json=body, headers=auth("admin"))
    assert r.status_code == 201, r.text
    return r.json()


async def test_exactly_the_stations_in_reach_in_distance_order(stations, auth):
    lat, lon = remote_point()
    layout = [(100, 0), (0, -400), (-700, 300), (900, 0), (0, 960), (1000, 0), (0, -2500)]
    created = []
    for north, east in layout:
        created.append(await _station(stations, auth, *offset(lat, lon, north, east)))
    # A station near the point that does not handle the item is never answered.
    await _station(stations, auth, *offset(lat, lon, 50, 0), items=["SI34"])

    r = await stations.get(NEARBY, params={"lat": lat, "lon": lon, "item": "SI03",
                                           "mode": "walk", "minutes": 15})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    expected = sorted(
        (
            (round(haversine_m(lat, lon, s["lat"], s["lon"]), 1), s["station_id"])
            for s in created
            if DEFAULT_TRAVEL_MODEL.minutes(haversine_m(lat, lon, s["lat"], s["lon"]),
                                            TravelMode.walk) <= 15
        ),
    )  # fmt: skip
    assert [(i["distance_m"], i["station_id"]) for i in body["items"]] == expected
    assert len(expected) == 5  # 100, 400, ~761, 900 and 960 m; not 1000 or 2500 m
    assert all(i["travel_minutes"] <= 15 for i in body["items"])
    assert body["reach_m"] == pytest.approx(961.5, abs=0.1)

    by_car = await stations.get(NEARBY, params={"lat": lat, "lon": lon, "item": "SI03",
                                                "mode": "car", "minutes": 15})  # fmt: skip
    assert [i["station_id"] for i in by_car.json()["items"]][-1] == created[-1]["station_id"]
    assert len(by_car.json()["items"]) == 7

    limited = await stations.get(NEARBY, params={"lat": lat, "lon": lon, "item": "SI03",
                                                 "mode": "car", "limit": 2})  # fmt: skip
    assert [i["station_id"] for i in limited.json()["items"]] == [
        i["station_id"] for i in by_car.json()["items"][:2]
    ]


async def test_point_on_a_station_and_ties_by_id(stations, auth):
    lat, lon = remote_point()
    same = [await _station(stations, auth, lat, lon) for _ in range(4)]
    r = await stations.get(NEARBY, params={"lat": lat, "lon": lon, "item": "SI03"})
    items = r.json()["items"]
    assert [i["station_id"] for i in items] == sorted(s["station_id"] for s in same)
    assert all(i["distance_m"] == 0 and i["travel_minutes"] == 0 for i in items)


async def test_many_stations_at_equal_distance_keep_id_order(stations, auth):
    lat, lon = remote_point()
    ring = [
        await _station(stations, auth, *offset(lat, lon, north, 0))
        for north in (300, 300, 300, 300, 300)
    ]
    items = (await stations.get(NEARBY, params={"lat": lat, "lon": lon})).json()["items"]
    assert [i["station_id"] for i in items] == [s["station_id"] for s in ring]
    assert len({i["distance_m"] for i in items}) == 1


async def test_none_in_reach_is_an_empty_list(stations, auth):
    lat, lon = remote_point()
    await _station(stations, auth, *offset(lat, lon, 3000, 0))
    r = await stations.get(NEARBY, params={"lat": lat, "lon": lon, "item": "SI03"})
    assert r.status_code == 200 and r.json()["items"] == []


async def test_bad_input_is_422_naming_the_field(stations):
    lat, lon = remote_point()
    for params, field in [
        ({"lat": lat, "lon": lon, "item": "SI99"}, "query.item"),
        ({"lat": 91, "lon": lon}, "query.lat"),
        ({"lat": lat, "lon": lon, "mode": "plane"}, "query.mode"),
        ({"lat": lat, "lon": lon, "minutes": 0}, "query.minutes"),
        ({"lon": lon}, "query.lat"),
    ]:
        r = await stations.get(NEARBY, params=params)
        assert r.status_code == 422, params
        assert r.json()["errors"][0]["field"] == field


async def test_read_a_station_and_its_items(stations, auth):
    lat, lon = remote_point()
    created = await _station(stations, auth, lat, lon, station_type="village_clinic")
    r = await stations.get(f"/stations/v1/stations/{created['station_id']}")
    assert r.status_code == 200
    assert r.json()["items"] == ["SI24", "SI26", "SI33"]
    assert r.json()["level"] == "village"
    assert (await stations.get("/stations/v1/stations/999999999")).status_code == 404


async def test_only_admin_opens_stations(stations, auth):
    body = {"name": "x", "station_type": "township", "region_code": "371602001", "lat": 1, "lon": 1}
    assert (await stations.post("/stations/v1/stations", json=body)).status_code == 401
    r = await stations.post("/stations/v1/stations", json=body, headers=auth("station", "1"))
    assert r.status_code == 403
    bad = await stations.post(
        "/stations/v1/stations", json={**body, "station_type": "castle"}, headers=auth("admin")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.station_type"


async def test_the_box_query_is_served_by_the_spatial_index(database):
    """With sequential scans priced out, the planner must be able to use the GiST index: the
    box predicate of the coverage and pharmacy searches matches the indexed expression, so
    they never need a full scan."""
    db = Database(database.url_for(service("stations")), schema="stations", pool_size=1)
    try:
        async with db.sessions() as session, session.begin():
            await session.execute(text("set local enable_seqscan = off"))
            plan = "\n".join(
                row[0]
                for row in await session.execute(
                    text(
                        "explain select id from stations s where point(s.lon, s.lat) <@ "
                        "box(point(118.0, 37.4), point(118.02, 37.42))"
                    )
                )
            )
    finally:
        await db.dispose()
    assert "ix_stations_location" in plan


async def test_a_station_written_elsewhere_is_found_after_the_refresh(database):
    """The cache's own contract, with a clock: an incremental look finds a row another
    process wrote once ``refresh_seconds`` have passed, not before."""
    from services.stations.station_cache import StationCache

    now = [0.0]
    lat, lon = remote_point()
    db = Database(database.url_for(service("stations")), schema="stations", pool_size=1)
    cache = StationCache(db, refresh_seconds=5, full_reload_seconds=300, clock=lambda: now[0])
    insert = text(
        "insert into stations (name, station_type, level, region_code, lat, lon, opening_hours)"
        " values ('x', 'township', 'township', '371602001', :lat, :lon, 'Mo-Fr') returning id"
    )
    box = bounding_box(lat, lon, 100)
    try:
        assert list((await cache.current()).in_box(box)) == []
        async with db.sessions() as session, session.begin():
            new_id = await session.scalar(insert, {"lat": lat, "lon": lon})
        now[0] = 4.0
        assert list((await cache.current()).in_box(box)) == []
        now[0] = 5.0
        assert [s.id for s in (await cache.current()).in_box(box)] == [new_id]
        cache.invalidate()
        assert [s.id for s in (await cache.current()).in_box(box)] == [new_id]
    finally:
        await db.dispose()
