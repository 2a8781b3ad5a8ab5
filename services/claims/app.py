"""The claims service's app factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, nullcontext
from functools import partial

import httpx
from fastapi import FastAPI

from services.claims.clients.enrollment import EligibilityCoalescer
from services.claims.config import ClaimsSettings, claims_settings
from services.claims.endpoints import router
from services.claims.hotpath import HotPath, reset_connection
from services.claims.idempotency import purge_and_report
from shared.app import create_service_app
from shared.db import DbTimeouts, hot_path_pool
from shared.metrics import asyncpg_pool_use
from shared.settings import Settings, get_settings
from shared.tasks import repeating
from shared.topology import service


def create_app(
    settings: Settings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    own: ClaimsSettings | None = None,
) -> FastAPI:
    """``transports`` replaces the network to the services called (tests run them in-process)."""
    settings = settings or get_settings()
    own = own or claims_settings()
    app = create_service_app(
        "claims",
        [router],
        settings=settings,
        transports=transports,
        calls=("enrollment", "stations"),
        description="Settlement under versioned benefit policies, reimbursement, catalog, audit.",
        tags=[
            {"name": "policies", "description": "Versioned benefit policies (待遇政策)"},
            {
                "name": "settlements",
                "description": "Real-time settlement (一站式结算), its reversal and accumulators",
            },
            {"name": "drug catalog", "description": "The medical-insurance drug catalog (public)"},
            {
                "name": "reimbursements",
                "description": "Manual reimbursement (手工报销) of care paid out of pocket",
            },
            {
                "name": "audit",
                "description": "Fund supervision: flags raised on settlements, audit cases, fund totals",
            },
        ],
    )
    shared_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with shared_lifespan(app):
            assert settings.database_url is not None  # the shared lifespan has checked
            pool = await hot_path_pool(
                settings.database_url,
                schema=service("claims").schema,
                timeouts=DbTimeouts.of(settings),
                max_size=settings.db_pool_size,
                reset=reset_connection,
                server_settings={
                    # Whatever the role's default: a settlement acknowledged is on disk.
                    "synchronous_commit": "on",
                    # The statements here (and in the functions of migration 0005) name
                    # partitioned settlements: with custom plans, each call planned the
                    # partitions anew, costing more than the execution; generic plans prune at
                    # run time instead.
                    "plan_cache_mode": "force_generic_plan",
                },
            )
            app.state.hot_path = HotPath(pool)
            app.state.eligibility = EligibilityCoalescer(app.state.clients["enrollment"])
            app.state.metrics.watch_pool("hot_path", asyncpg_pool_use(pool))
            # Python's cyclic collector showed as ~5% of this process's CPU under load, most of it
            # rescanning the objects of start-up (modules, models, routes) that live as long as
            # the process: set them aside, and collect the young generation less often.
            gc.freeze()
            gc.set_threshold(10_000, 20, 20)
            purge = (
                repeating(
                    own.idempotency_purge_interval_seconds,
                    partial(
                        purge_and_report, app.state.database.engine, own.idempotency_keep_hours
                    ),
                    name="idempotency-key purge",
                )
                if own.idempotency_purge_interval_seconds > 0
                else nullcontext()
            )
            try:
                async with purge:
                    yield
            finally:
                await pool.close()

    app.router.lifespan_context = lifespan
    return app
