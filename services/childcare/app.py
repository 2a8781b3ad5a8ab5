"""The childcare service's app factory."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from services.childcare.endpoints import router
from shared.app import create_service_app
from shared.settings import Settings


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports`` replaces the network to the services called (tests run them in-process)."""
    return create_service_app(
        "childcare",
        [router],
        settings=settings,
        transports=transports,
        description="Filing, staff and bans, inspections and public disclosure of childcare.",
        tags=[
            {
                "name": "childcare institutions",
                "description": "Childcare institutions (托育机构) and their particulars",
            },
            {
                "name": "childcare filings",
                "description": "The filing (备案) of a childcare institution and its transitions",
            },
            {
                "name": "childcare staff and bans",
                "description": "Staff of childcare institutions and the lifetime ban list",
            },
            {
                "name": "childcare supervision",
                "description": "Inspections, double-random draws, credit ratings, statistics",
            },
            {
                "name": "childcare disclosure",
                "description": "What the public sees of filed institutions (no token)",
            },
        ],
    )
