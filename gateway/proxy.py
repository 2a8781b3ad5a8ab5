"""Forwarding to the services, as plain ASGI (the gateway's hot path).

Checks the token (if any) before forwarding, applies the rate limit and answers 503/504
problem+json when a service is down, failing or slow. Paths are forwarded unchanged: each
service serves its own prefix.
"""

from __future__ import annotations

import logging

import aiohttp
from multidict import CIMultiDict
from starlette.types import ASGIApp, Receive, Scope, Send
from yarl import URL

from gateway.ratelimit import TokenBuckets, retry_after_header
from shared.auth import TokenVerifier
from shared.context import request_id_var
from shared.errors import ProblemError, TooManyRequests, Unauthorized, problem_response
from shared.http import CircuitBreaker
from shared.settings import Settings

log = logging.getLogger("yibao.gateway.proxy")

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
_RESPONSE_SKIP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "date",
        "server",
        "x-request-id",
    }
)
_UNLIMITED_PATHS = frozenset(
    {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect"}
)


class Upstream:
    """One service behind the gateway: its connection pool and circuit breaker.

    The proxy speaks aiohttp directly: on the hot path, httpx's request and response models
    cost more than the forwarding itself (measured in bench/: see the README).
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        breaker: CircuitBreaker,
        *,
        timeout: float,
        connect_timeout: float,
        max_connections: int = 256,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._limit = max_connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=30),
                timeout=self._timeout,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class Gateway:
    """Wraps the gateway's own FastAPI app; requests under a service prefix are proxied."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        upstreams: dict[str, Upstream],
        verifier: TokenVerifier,
    ) -> None:
        self.app = app
        self.upstreams = upstreams
        self.verifier = verifier
        self.clients_limit = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.anonymous_limit = TokenBuckets(
            settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        segment = path[1:].split("/", 1)[0]
        upstream = self.upstreams.get(segment)
        try:
            authorization = _header(scope, b"authorization")
            if authorization is not None:
                scheme, _, token = authorization.partition(" ")
                if scheme.lower() != "bearer" or not token:
                    raise _unauthorized("the Authorization header must be 'Bearer <token>'")
                principal = self.verifier.verify(token.strip())
                wait = self.clients_limit.take(principal.client_id)
            elif path in _UNLIMITED_PATHS or path.endswith(("/healthz", "/readyz")):
                wait = 0.0
            else:
                client = scope.get("client")
                wait = self.anonymous_limit.take(client[0] if client else "unknown")
            if wait:
                raise _too_many(wait)
        except ProblemError as exc:
            await exc.to_response()(scope, receive, send)
            return
        if upstream is None:
            await self.app(scope, receive, send)
            return
        await self._forward(upstream, scope, receive, send)

    async def _forward(
        self, upstream: Upstream, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k not in _HOP_BY_HOP and k != b"x-request-id"
        )
        request_id = request_id_var.get()
        if request_id:
            headers["X-Request-ID"] = request_id
        client = scope.get("client")
        if client:
            headers["X-Forwarded-For"] = client[0]
        # raw_path keeps the client's percent-encoding intact.
        path: bytes = scope.get("raw_path") or scope["path"].encode()
        url = upstream.base_url + path.decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        if not upstream.breaker.allow():
            await problem_response(
                503, "Service unavailable", f"{upstream.name} is unavailable (circuit open)"
            )(scope, receive, send)
            return
        try:
            async with upstream.session.request(
                scope["method"],
                URL(url, encoded=True),
                headers=headers,
                data=bytes(body) if body else None,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                status = response.status
                out_headers = [
                    (k, v)
                    for k, v in response.raw_headers
                    if k.decode("latin-1").lower() not in _RESPONSE_SKIP
                ]
        except (TimeoutError, aiohttp.ServerTimeoutError):
            upstream.breaker.record_failure()
            await problem_response(
                504, "Upstream timeout", f"{upstream.name} did not answer in time"
            )(scope, receive, send)
            return
        except aiohttp.ClientError as exc:
            upstream.breaker.record_failure()
            log.warning("%s unreachable: %s", upstream.name, type(exc).__name__)
            await problem_response(503, "Service unavailable", f"{upstream.name} is unavailable")(
                scope, receive, send
            )
            return
        if status >= 500:
            upstream.breaker.record_failure()
        else:
            upstream.breaker.record_success()
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _unauthorized(detail: str) -> ProblemError:
    return Unauthorized(detail)


def _too_many(wait: float) -> ProblemError:
    return TooManyRequests(
        "rate limit exceeded for this client", headers={"Retry-After": retry_after_header(wait)}
    )
