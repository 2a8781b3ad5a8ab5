"""Helpers for the stations tests.

Tests share one database, and the demo network may be seeded into it: every test that places
stations or pharmacies does so around its own random point far from the demo city (and from
the bench area), so what it asserts cannot be disturbed by rows of other tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from fastapi import FastAPI

from services.stations.clients.claims import Drug, StaticDrugCatalog
from services.stations.domain.geo import EARTH_RADIUS_M

FAKE_DRUGS = [
    Drug(f"XA{n:04d}", f"集采药品{n}", Decimal(n) + Decimal("0.50")) for n in range(1, 56)
] + [Drug(f"TB{n:05d}", f"目录药品{n}", None) for n in range(1, 6001)]
"""What the claims catalog would answer: 55 procured drugs with payment standards (XA0001 at
1.50 ... XA0055 at 55.50) and 6,000 without (TB00001...)."""


def remote_point() -> tuple[float, float]:
    """A random point in the southern oceans, far from any demo or bench data."""
    return round(random.uniform(-50.0, -20.0), 6), round(random.uniform(-170.0, 170.0), 6)


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m``/``east_m`` metres from (lat, lon), near enough for test layouts."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


@pytest.fixture(scope="session")
async def fake_drug_catalog(
    service_apps: dict[str, FastAPI],
) -> AsyncIterator[StaticDrugCatalog]:
    """The inventory endpoints' drug checks go to this list instead of the claims catalog
    (which is built in parallel and may not answer yet); the real client has its own tests
    against a mock transport."""
    app = service_apps["stations"]
    real = app.state.drug_catalog
    fake = StaticDrugCatalog(FAKE_DRUGS)
    app.state.drug_catalog = fake
    yield fake
    app.state.drug_catalog = real


@pytest.fixture(scope="session", autouse=True)
def _station_index_always_current(service_apps: dict[str, FastAPI]) -> Iterator[None]:
    """Tests write stations through other connections too (the seed): the in-process app
    rebuilds its station index before every search instead of within seconds."""
    cache = service_apps["stations"].state.station_cache
    before = cache.full_reload_seconds
    cache.full_reload_seconds = 0
    yield
    cache.full_reload_seconds = before
