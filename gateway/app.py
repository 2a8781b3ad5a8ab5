"""The gateway's app factory: its own routes (tokens, health, docs) wrapped by the proxy."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from importlib import resources
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import service
from gateway.openapi import MergedOpenAPI
from gateway.proxy import Gateway
from gateway.revocation import DatabaseRevocations, disabled_client_ids
from gateway.service import CLIENT_ID_PATTERN
from shared.app import health_router, upstreams, watch_database
from shared.auth import Admin, ClientKind, TokenSigner, TokenVerifier
from shared.db import Database, DbSession, DbTimeouts, ReadSession
from shared.deadline import Deadlines
from shared.errors import install_error_handlers, problems
from shared.hardening import Hardening
from shared.limits import BodyLimits
from shared.listeners import REVOCATIONS_PATH, Listeners
from shared.logging import configure_logging
from shared.metrics import Metrics, metrics_router
from shared.middleware import RequestContextMiddleware
from shared.openapi import install as install_openapi
from shared.openapi import route_name
from shared.pagination import Page, PageByCode
from shared.revocation import MEDIA_TYPE as REVOCATIONS_MEDIA_TYPE
from shared.schemas import Id, StrictModel, Text
from shared.settings import Settings, get_settings
from shared.tasks import repeating
from shared.topology import GATEWAY, SERVICES

log = logging.getLogger("yibao.gateway")

_SWAGGER_ASSETS = str(resources.files("fastapi_offline") / "static")
"""Swagger UI 5 (OpenAPI 3.1), packaged by fastapi-offline."""


class TokenRequest(BaseModel):
    """OAuth2 client credentials, form-encoded (its fields arrive as text)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "grant_type": "client_credentials",
                    "client_id": "pharmacy-1a2b3c4d5e6f",
                    "client_secret": "tq3Zk2Vv0m1Yp8Jd4Rr6Wc9Xs5Lb7Ne2",
                }
            ]
        }
    )

    grant_type: Literal["client_credentials"]
    client_id: str = Field(pattern=CLIENT_ID_PATTERN)
    client_secret: Text = Field(min_length=1, max_length=256)
    person_id: Id | None = Field(None, description="App clients: the person to act for")


class TokenResponse(BaseModel):
    """An access token (OAuth2 client credentials)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "pharmacy:P37160200007",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the token stays valid")
    scope: str = Field(description="The client's kind, and what it is bound to")


class ClientCreate(StrictModel):
    """A new API client: its kind and what it is bound to."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kind": "pharmacy", "bind": "P37160200007", "name": "Renmin pharmacy"}]
        }
    )

    kind: ClientKind
    bind: Text | None = Field(
        None, min_length=1, max_length=64, description="H/P code, station, institution or region"
    )
    name: Text | None = Field(None, min_length=1, max_length=200)


_CLIENT_EXAMPLE = {
    "client_id": "pharmacy-1a2b3c4d5e6f",
    "kind": "pharmacy",
    "bound": "P37160200007",
    "name": "Renmin pharmacy",
}


class ClientOut(BaseModel):
    """A registered client, as admins see it (never its secret)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {**_CLIENT_EXAMPLE, "created_at": "2026-11-23T12:00:00Z", "disabled_at": None}
            ]
        },
    )

    client_id: str
    kind: ClientKind
    bound: str | None
    name: str
    created_at: datetime
    disabled_at: datetime | None = Field(description="When it was disabled; null: enabled")


class ClientCreated(BaseModel):
    """A new client's credentials: the secret is shown this once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_CLIENT_EXAMPLE, "client_secret": "tq3Zk2Vv0m1Yp8Jd4Rr6Wc9Xs5Lb7Ne2"}]
        }
    )

    client_id: str
    client_secret: str = Field(description="Shown once; only its hash is kept")
    kind: ClientKind
    bound: str | None
    name: str


ClientId = Annotated[str, Path(pattern=CLIENT_ID_PATTERN, description="The client's id")]


def _signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.token_signer
    return signer


Signer = Annotated[TokenSigner, Depends(_signer)]

auth_router = APIRouter(prefix="/auth", tags=["auth"])


@auth_router.post(
    "/token",
    summary="Issue a token (OAuth2 client credentials)",
    response_model=TokenResponse,
    responses=problems(401),
    operation_id="tokens_issue",
)
async def issue_token(
    form: Annotated[TokenRequest, Form()], session: DbSession, signer: Signer
) -> TokenResponse:
    principal = await service.authenticate(
        session, form.client_id, form.client_secret, form.person_id
    )
    return TokenResponse(
        access_token=signer.issue(principal),
        expires_in=signer.lifetime,
        scope=service.token_scope(principal),
    )


@auth_router.post(
    "/clients",
    summary="Register an API client (admin)",
    status_code=201,
    response_model=ClientCreated,
    responses=problems(403),
    operation_id="clients_create",
)
async def register_client(body: ClientCreate, session: DbSession, _: Admin) -> ClientCreated:
    new = await service.create_client(session, body.kind, body.bind, body.name)
    return ClientCreated(
        client_id=new.client_id,
        client_secret=new.client_secret,
        kind=new.kind,
        bound=new.bound,
        name=new.name,
    )


@auth_router.get(
    "/clients",
    summary="The registered API clients (admin)",
    response_model=Page[ClientOut],
    responses=problems(403),
    operation_id="clients_list",
)
async def list_clients(session: ReadSession, page: PageByCode, _: Admin) -> Page[ClientOut]:
    rows = await service.list_clients(session, page.after, page.limit + 1)
    items, cursor = page.page(rows, lambda c: c.client_id)
    return Page(items=[ClientOut.model_validate(c) for c in items], next_cursor=cursor)


@auth_router.post(
    "/clients/{client_id}/disable",
    summary="Disable an API client (admin): no new tokens, and its current ones are refused",
    description=(
        "Idempotent. The gateway process that handles this refuses the client's tokens at "
        "once; the other gateway processes and every service within "
        "`YIBAO_REVOCATION_REFRESH_SECONDS` (5 s)."
    ),
    response_model=ClientOut,
    responses=problems(403, 404),
    operation_id="clients_disable",
)
async def disable_client(
    client_id: ClientId, request: Request, session: DbSession, _: Admin
) -> ClientOut:
    client = await service.disable_client(session, client_id)
    revocations: DatabaseRevocations = request.app.state.revocations
    revocations.add(client.client_id)
    return ClientOut.model_validate(client)


@auth_router.post(
    "/clients/{client_id}/enable",
    summary="Enable a disabled API client again (admin)",
    description=(
        "Idempotent. The client gets tokens again, and its tokens not yet expired are accepted: "
        "at once by the gateway process that handles this, by the other gateway processes and "
        "every service within `YIBAO_REVOCATION_REFRESH_SECONDS` (5 s)."
    ),
    response_model=ClientOut,
    responses=problems(403, 404),
    operation_id="clients_enable",
)
async def enable_client(
    client_id: ClientId, request: Request, session: DbSession, _: Admin
) -> ClientOut:
    client = await service.enable_client(session, client_id)
    revocations: DatabaseRevocations = request.app.state.revocations
    revocations.remove(client.client_id)
    return ClientOut.model_validate(client)


internal_router = APIRouter(include_in_schema=False)


@internal_router.get(REVOCATIONS_PATH)
async def revocation_list(session: ReadSession, signer: Signer) -> Response:
    """The disabled clients, signed, for the services (internal port only: shared.listeners).
    Read from the database on each call, so a service is never further behind than its own
    refresh interval."""
    client_ids = await disabled_client_ids(session)
    return Response(signer.sign_revocations(client_ids), media_type=REVOCATIONS_MEDIA_TYPE)


def _docs_router(merged: MergedOpenAPI) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi(request: Request) -> JSONResponse:
        base = request.app.openapi()
        return JSONResponse(await merged.document(base))

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        # Assets served from here, not a CDN: the docs work on a closed network too.
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="yibao API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon.png",
        )

    return router


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or get_settings()
    configure_logging("gateway", settings.log_level)
    metrics = Metrics(GATEWAY.name)
    revocations = DatabaseRevocations()
    # One per service, for everything the gateway sends it: forwarded requests, the documents
    # merged into /openapi.json, readiness. The proxy never retries: a client's retry does,
    # with its Idempotency-Key.
    services = upstreams(
        settings, [s.name for s in SERVICES], metrics=metrics, retries=0, max_connections=256
    )
    merged = MergedOpenAPI(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.database_url:
            raise RuntimeError("YIBAO_DATABASE_URL is not set for the gateway")
        app.state.database = Database(
            settings.database_url,
            schema=GATEWAY.schema,
            pool_size=5,
            timeouts=DbTimeouts.of(settings),
        )
        watch_database(metrics, app.state.database)
        app.state.clients = services
        # Loaded before serving: a disabled client's tokens are refused from the first request.
        # A failed refresh later keeps the last set (never an empty one).
        await revocations.refresh(app.state.database)
        if revocations.failure is not None:
            raise RuntimeError(f"could not load the disabled clients: {revocations.failure}")
        try:
            async with repeating(
                settings.revocation_refresh_seconds,
                partial(revocations.refresh, app.state.database),
                name="revocations refresh",
            ):
                yield
        finally:
            for upstream in services.values():
                await upstream.aclose()
            await app.state.database.dispose()

    app = FastAPI(
        title="yibao",
        version="1.0.0",
        description=(
            "The public API of the city's medical-insurance bureau and health commission. "
            "Get a token at POST /auth/token and send it as `Authorization: Bearer <token>`."
        ),
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        servers=[{"url": "/", "description": "The gateway that served this document"}],
        openapi_tags=[
            {"name": "auth", "description": "Tokens and API clients"},
            {"name": "health", "description": "Liveness and readiness of the gateway"},
        ],
        separate_input_output_schemas=False,
        generate_unique_id_function=route_name,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.revocations = revocations
    app.state.token_signer = TokenSigner(settings)
    verifier = TokenVerifier(settings, revocations)
    app.state.token_verifier = verifier
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(auth_router)
    app.include_router(internal_router)
    app.include_router(health_router())
    app.include_router(metrics_router())
    app.include_router(_docs_router(merged))
    app.mount("/docs/static", StaticFiles(directory=_SWAGGER_ASSETS), name="docs-static")
    # Its own routes' bodies; the proxy checks what it forwards with the same rules.
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes)

    gateway = Gateway(app, settings=settings, upstreams=services, verifier=verifier)
    # The internal port goes straight to the gateway's own routes: no admission, no proxy.
    listeners = Listeners(
        Deadlines(gateway, limit=settings.upstream_timeout_seconds),
        internal_port=settings.internal_port_of(GATEWAY),
        internal_app=app,
    )
    hardened = Hardening(
        listeners,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
    )
    # Outermost first: request context (request ID, access log, metrics), header limits and
    # response headers, the two ports, then on the public one the request's deadline, which the
    # proxy forwards within and passes on.
    return GatewayApp(
        RequestContextMiddleware(hardened, access_log=settings.access_log, metrics=metrics), app
    )


class GatewayApp:
    """The ASGI app uvicorn serves: request context, hardening and the two listeners around the
    proxy around FastAPI."""

    def __init__(self, asgi: ASGIApp, fastapi: FastAPI) -> None:
        self.asgi = asgi
        self.fastapi = fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def fastapi_of(app: ASGIApp) -> FastAPI:
    """The gateway's FastAPI app inside its ASGI wrappers (tests run its lifespan)."""
    assert isinstance(app, GatewayApp)
    return app.fastapi
