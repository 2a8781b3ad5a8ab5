"""The enrollment service's app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import asyncpg
import httpx
from fastapi import FastAPI

from services.enrollment.config import EnrollmentSettings, voucher_key
from services.enrollment.endpoints import get_eligibility, router
from services.enrollment.repository import HotPath
from shared.app import create_service_app
from shared.db import DbTimeouts, hot_path_pool
from shared.fastlane import lane_routes
from shared.metrics import asyncpg_pool_use
from shared.settings import Settings, get_settings
from shared.topology import service


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset query on release (asyncpg's default costs a round trip per request): the hot
    path runs single autocommit statements that leave no session state behind."""


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports`` replaces the network to the services called (tests run them in-process)."""
    settings = settings or get_settings()
    own = EnrollmentSettings()
    app = create_service_app(
        "enrollment",
        [router],
        settings=settings,
        transports=transports,
        fast_lane=lane_routes(router, get_eligibility),
        description="Insured persons, coverage, filings, approvals and electronic vouchers.",
        tags=[
            {"name": "persons", "description": "Insured persons (参保人), looked up by ID number"},
            {
                "name": "coverage periods",
                "description": "When a person is insured, and under which scheme",
            },
            {
                "name": "qualifications",
                "description": "Approved chronic-disease and two-disease (两病) qualifications",
            },
            {
                "name": "offsite filings",
                "description": "Filings for medical treatment outside the city (异地就医备案)",
            },
            {
                "name": "eligibility",
                "description": "What a settlement needs to know about a person on a day",
            },
            {
                "name": "voucher codes",
                "description": "Short-lived electronic voucher codes (医保码) and their QR images",
            },
            {"name": "employers", "description": "Employers and their staff changes (人员增减)"},
            {
                "name": "contributions",
                "description": "Contributions paid, including government-paid batches (财政代缴)",
            },
            {
                "name": "transfers",
                "description": "Transfers of the insurance relationship into or out of the city",
            },
            {"name": "access log", "description": "Who read or changed a person's data"},
        ],
    )
    # Read at start-up, so a missing production key stops the process before it serves.
    app.state.voucher_key = voucher_key(settings, own)
    app.state.voucher_lifetime = own.voucher_lifetime_seconds

    shared_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with shared_lifespan(app):
            assert settings.database_url is not None  # the shared lifespan has checked
            # Only the hot path's access-log entries ride on this pool. With synchronous commit
            # off (an operator's choice) each read skips a WAL flush, and a crash of the database
            # server could lose the entries of its last moments, never the data read.
            pool = await hot_path_pool(
                settings.database_url,
                schema=service("enrollment").schema,
                timeouts=DbTimeouts.of(settings),
                max_size=settings.db_pool_size,
                reset=_keep_session,
                server_settings={
                    "synchronous_commit": "on" if own.hot_path_synchronous_commit else "off"
                },
            )
            app.state.hot_path = HotPath(pool)
            app.state.metrics.watch_pool("hot_path", asyncpg_pool_use(pool))
            try:
                yield
            finally:
                await pool.close()

    app.router.lifespan_context = lifespan
    return app
