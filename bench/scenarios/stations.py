"""Stations' scenarios: the 15-minute-circle search and the pharmacy search, public, through the
gateway, and a 5,000-row pharmacy inventory upsert.

``prepare`` bulk-loads stations up to ``BENCH_STATIONS`` (default 100,000) over a province-sized
area on top of the seeded 1,752; ``BENCH_STATIONS=0`` measures the seeded network alone.
The upsert's drug codes (``BENCH_DRUG_CODES``) must be in the claims catalog for it to succeed;
until claims loads them the scenario measures the 422 (every row rejected) path.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench.scenarios import Scenario, lua_random_requests
from services.stations.seed import load_bench_data

BENCH_STATIONS = int(os.environ.get("BENCH_STATIONS", "100000"))
BENCH_DRUG_CODES = [f"XZ{n:05d}" for n in range(1, 5001)]
CITY_BOX = (36.9, 37.8, 117.5, 118.2)
"""Where the demo city's stations and pharmacies are: search points are drawn from it."""


async def prepare(ctx: Any) -> None:
    if BENCH_STATIONS <= 0:
        return
    database = ctx.database("stations")
    try:
        async with database.sessions() as session, session.begin():
            await load_bench_data(session, n_stations=BENCH_STATIONS)
    finally:
        await database.dispose()


def _random_points(path_template: str) -> str:
    """A wrk script asking from a different point of the city on every request."""
    min_lat, max_lat, min_lon, max_lon = CITY_BOX
    return lua_random_requests(
        path_template, {"lat": (min_lat, max_lat, False), "lon": (min_lon, max_lon, False)}
    )


def scenarios(ctx: Any) -> list[Scenario]:
    size = f"{BENCH_STATIONS + 1752} stations"
    nearby = "/stations/v1/stations/nearby?lat={lat}&lon={lon}&item=SI03&minutes=15&mode="
    pharmacies = "/stations/v1/pharmacies/nearby?drug_code=XA0001&lat={lat}&lon={lon}&in_stock=true"
    rows = [
        {"drug_code": code, "price": f"{(n % 500) + 1}.{n % 100:02d}", "stock": n % 200}
        for n, code in enumerate(BENCH_DRUG_CODES)
    ]
    return [
        Scenario(
            "stations_nearby_walk",
            f"{ctx.gateway_url}/stations/v1/stations/nearby?lat=37.432&lon=118.02&item=SI03",
            script=_random_points(nearby + "walk"),
            note=f"public, no token; a different point per request; {size}",
        ),
        Scenario(
            "stations_nearby_car",
            f"{ctx.gateway_url}/stations/v1/stations/nearby?lat=37.432&lon=118.02&item=SI03",
            script=_random_points(nearby + "car"),
            note=f"public; car, 15 minutes (a 5.8 km circle); {size}",
        ),
        Scenario(
            "stations_pharmacy_search",
            f"{ctx.gateway_url}/stations/v1/pharmacies/nearby?drug_code=XA0001&lat=37.43&lon=118.0",
            script=_random_points(pharmacies),
            note="public; 207 pharmacies, ~36 drugs each, 20 km radius",
        ),
        Scenario(
            "stations_inventory_upsert_5000",
            f"{ctx.gateway_url}/stations/v1/pharmacies/P37160200007/inventory",
            method="PUT",
            headers={
                **ctx.auth("pharmacy", bound="P37160200007"),
                "Content-Type": "application/json",
            },
            body=json.dumps(rows),
            connections=2,
            note="pharmacy token; 5,000 rows in one transaction (drug checks cached)",
        ),
    ]
