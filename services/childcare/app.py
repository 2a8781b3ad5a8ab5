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
    )
