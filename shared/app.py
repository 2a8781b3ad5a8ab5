"""The app factory every service uses: settings, database, auth, errors, health, request IDs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import TokenVerifier
from shared.db import Database, DbTimeouts
from shared.deadline import Deadline, Deadlines, current_deadline
from shared.errors import ProblemError, install_error_handlers, problem_response, problems
from shared.fastlane import FastLane
from shared.hardening import Hardening
from shared.http import CircuitBreaker, Upstream
from shared.limits import BodyLimits
from shared.listeners import Listeners
from shared.logging import configure_logging
from shared.metrics import Metrics, metrics_router, sqlalchemy_pool_use
from shared.middleware import RequestContextMiddleware
from shared.openapi import install as install_openapi
from shared.openapi import route_name
from shared.revocation import RevocationFeed, Revocations
from shared.settings import Settings, get_settings
from shared.tasks import repeating
from shared.topology import GATEWAY, ServiceSpec, service

log = logging.getLogger("yibao.app")


class Health(BaseModel):
    """Whether the process is up, and what it checked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "checks": {"database": "ok", "enrollment": "ok"}}]
        }
    )

    status: Literal["ok", "degraded"]
    checks: dict[str, str] = Field(default_factory=dict, description="Each dependency's state")


def upstreams(
    settings: Settings,
    names: Sequence[str],
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    metrics: Metrics | None = None,
    *,
    retries: int = 2,
    max_connections: int = 200,
) -> dict[str, Upstream]:
    """One :class:`Upstream` per service called. ``transports`` replaces the network (tests:
    in-process)."""
    transports = transports or {}
    return {
        name: Upstream(
            name,
            settings.service_urls[name],
            timeout=settings.upstream_timeout_seconds,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            retries=retries,
            breaker=CircuitBreaker(
                name, settings.breaker_failure_threshold, settings.breaker_reset_seconds
            ),
            transport=transports.get(name),
            metrics=metrics,
            max_connections=max_connections,
        )
        for name in names
    }


def watch_database(metrics: Metrics, database: Database) -> None:
    metrics.watch_pool("primary", sqlalchemy_pool_use(database.engine))
    if database.read_engine is not database.engine:
        metrics.watch_pool("replica", sqlalchemy_pool_use(database.read_engine))


def health_router(prefix: str = "") -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["health"])

    @router.get(
        "/healthz",
        summary="The process is alive",
        response_model=Health,
        operation_id="health_live",
    )
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="Ready to serve: the database answers (the services called are reported too)",
        description=(
            "503 only when this process's own database does not answer. The services it calls "
            "are checked and reported, and `status` is `degraded` when one fails, but they do "
            "not make this process unready: each route that needs a missing service answers "
            "503 itself, and the others keep serving (a readiness that followed its upstreams "
            "would take the gateway, and so every route, out of the load balancer when any "
            "one service is down). `revocations` is `ok` while the list of disabled clients "
            "is refreshed, else says how old the list kept is (`degraded` too)."
        ),
        response_model=Health,
        responses=problems(503),
        operation_id="health_ready",
    )
    async def readyz(request: Request) -> Any:
        database: Database = request.app.state.database
        clients: dict[str, Upstream] = request.app.state.clients
        deadline = current_deadline.get()
        # Answered within the probe's own second or two, and within the request's deadline.
        budget = 2.0 if deadline is None else min(2.0, deadline.remaining())

        async def database_check() -> str:
            try:
                await asyncio.wait_for(database.ping(), timeout=budget)
                return "ok"
            except Exception as exc:  # readiness reports every failure, whatever its kind
                return f"failed: {type(exc).__name__}"

        async def upstream_check(client: Upstream) -> str:
            try:
                await client.get("/healthz", deadline=Deadline.within(min(1.0, budget)))
            except ProblemError as exc:
                return f"failed: {exc.detail}"
            return "ok"

        # All at once: the answer stays within the probe's timeout however many upstreams hang.
        results = await asyncio.gather(
            database_check(), *(upstream_check(client) for client in clients.values())
        )
        checks = dict(zip(("database", *clients), results, strict=True))
        revocations: Revocations | None = getattr(request.app.state, "revocations", None)
        if revocations is not None:
            checks["revocations"] = revocations.check()
        if checks["database"] != "ok":
            return problem_response(
                503, "Not ready", "the database is not answering", extra={"checks": checks}
            )
        status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
        return Health(status=status, checks=checks)

    return router


def create_service_app(
    name: str,
    routers: Sequence[APIRouter],
    *,
    settings: Settings | None = None,
    calls: Sequence[str] = (),
    description: str = "",
    tags: Sequence[Mapping[str, str]] = (),
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    fast_lane: Sequence[APIRoute] = (),
) -> FastAPI:
    """A service's FastAPI app. ``calls`` names the services it talks to over HTTP; ``tags``
    describe its operations' tags; ``fast_lane`` the routes served past the router (see
    :mod:`shared.fastlane`)."""
    settings = settings or get_settings()
    spec: ServiceSpec = service(name)
    configure_logging(name, settings.log_level)
    metrics = Metrics(name)
    revocations = Revocations()
    verifier = TokenVerifier(settings, revocations)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.database_url:
            raise RuntimeError("YIBAO_DATABASE_URL is not set for this service")
        app.state.database = Database(
            settings.database_url,
            schema=spec.schema,
            read_url=settings.database_read_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            timeouts=DbTimeouts.of(settings),
        )
        watch_database(metrics, app.state.database)
        app.state.clients = upstreams(settings, calls, transports, metrics)
        # Not among app.state.clients: readiness reports the list's age, not the gateway's health.
        gateway = Upstream(
            GATEWAY.name,
            settings.gateway_internal_url,
            timeout=settings.upstream_timeout_seconds,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            breaker=CircuitBreaker(
                GATEWAY.name, settings.breaker_failure_threshold, settings.breaker_reset_seconds
            ),
            transport=(transports or {}).get(GATEWAY.name),
            metrics=metrics,
        )
        feed = RevocationFeed(gateway, verifier, revocations)
        try:
            if on_startup is not None:
                await on_startup(app)
            # The document takes a second or more of CPU to write: written now, beside the first
            # requests, the gateway's first fetch of it is answered at once, within its deadline.
            app.state.writing_document = asyncio.create_task(asyncio.to_thread(app.openapi))
            # Tried once before serving; a gateway not up yet (it starts after the services)
            # is tried again on every refresh, and readiness says the list was never loaded.
            await feed.refresh()
            async with repeating(
                settings.revocation_refresh_seconds, feed.refresh, name="revocations refresh"
            ):
                log.info("%s started", name)
                yield
        finally:
            await gateway.aclose()
            for client in app.state.clients.values():
                await client.aclose()
            await app.state.database.dispose()

    app = FastAPI(
        title=f"yibao {spec.title}",
        version="1.0.0",
        description=description,
        lifespan=lifespan,
        openapi_tags=[dict(tag) for tag in tags],
        separate_input_output_schemas=False,
        generate_unique_id_function=route_name,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.revocations = revocations
    app.state.token_verifier = verifier
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    app.include_router(metrics_router())
    # The same health reads under the service's prefix, so they are reachable through the gateway.
    app.include_router(health_router(spec.prefix), include_in_schema=False)
    install_openapi(app)
    # Added innermost first: the request context wraps the hardening, which wraps the
    # listeners, the deadline and the body limits, which wrap the fast lane; so the fast lane's
    # answers pass all of them.
    if fast_lane:
        app.add_middleware(FastLane, routes=fast_lane)
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes)
    app.add_middleware(Deadlines, limit=settings.upstream_timeout_seconds)
    app.add_middleware(Listeners, internal_port=settings.internal_port_of(spec))
    app.add_middleware(
        Hardening,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
    )
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log, metrics=metrics)
    return app
