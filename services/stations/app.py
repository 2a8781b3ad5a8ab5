"""The stations service's app factory."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from services.stations.clients.claims import ClaimsClient
from services.stations.domain.geo import DEFAULT_TRAVEL_MODEL
from services.stations.endpoints import router
from services.stations.station_cache import StationCache
from shared.app import create_service_app
from shared.settings import Settings


async def _on_startup(app: FastAPI) -> None:
    # Both are replaceable on app.state: the travel model is policy data, and tests put a
    # fixed drug list in place of the claims catalog.
    app.state.travel_model = DEFAULT_TRAVEL_MODEL
    app.state.station_cache = StationCache(app.state.database)
    app.state.drug_catalog = ClaimsClient(app.state.clients["claims"])


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports`` replaces the network to the services called (tests run them in-process)."""
    return create_service_app(
        "stations",
        [router],
        settings=settings,
        transports=transports,
        calls=("claims",),
        on_startup=_on_startup,
        description="Service stations, designated institutions, the 15-minute circle, pharmacies.",
        tags=[
            {
                "name": "service network",
                "description": "Service items, station types and regions (public)",
            },
            {
                "name": "stations",
                "description": "Service stations and the 15-minute service circle",
            },
            {
                "name": "medical institutions",
                "description": "Designated hospitals and pharmacies (定点医药机构)",
            },
            {
                "name": "pharmacies",
                "description": "Pharmacies' price and stock, and where a drug is in stock",
            },
            {
                "name": "video service",
                "description": "Items handled by video or at a station's counter",
            },
        ],
    )
