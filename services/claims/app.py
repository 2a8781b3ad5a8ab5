"""The claims service's app factory."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from services.claims.endpoints import router
from shared.app import create_service_app
from shared.settings import Settings


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports`` replaces the network to the services called (tests run them in-process)."""
    return create_service_app(
        "claims",
        [router],
        settings=settings,
        transports=transports,
        calls=("enrollment", "stations"),
        description="Settlement under versioned benefit policies, reimbursement, catalog, audit.",
    )
