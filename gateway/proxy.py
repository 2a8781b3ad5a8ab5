"""Forwarding to the services, as plain ASGI (the gateway's hot path).

Admits each call first (rate limits, then the token, if any), and answers 503/504
problem+json when a service is down or slow. Paths are forwarded unchanged: each service serves
its own prefix.
"""

from __future__ import annotations

import logging

import aiohttp
from multidict import CIMultiDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from gateway.forwarded import TrustedProxies
from gateway.ratelimit import Quota, TokenBuckets, address_key
from shared.auth import TokenVerifier, bearer_token
from shared.context import request_id_var
from shared.errors import (
    PayloadTooLarge,
    ProblemError,
    TooManyRequests,
    Unauthorized,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from shared.http import CircuitBreaker
from shared.metrics import ROUTE_KEY, Metrics, UpstreamTimer, status_outcome
from shared.settings import Settings

log = logging.getLogger("yibao.gateway.proxy")

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_SKIP = _HOP_BY_HOP | {"host", "content-length", "x-request-id", "x-forwarded-for"}
# The gateway sets its own length, date, server and request ID on what it sends back.
_RESPONSE_SKIP = _HOP_BY_HOP | {"content-length", "date", "server", "x-request-id"}
# Liveness and the documents cost next to nothing. /readyz is not here: each call pings the
# database and every upstream, so through an ingress it is rate-limited like any anonymous call
# (kubelet probes, a few a minute, stay far below the limit).
_UNLIMITED_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect"})
_NO_BODY_STATUSES = frozenset({204, 304})


class ClientGone(Exception):
    """The client disconnected before sending its whole body: nothing is forwarded."""


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
        metrics: Metrics | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker
        self.metrics = metrics
        self.route = f"/{name}/{{path}}"
        """The route label of everything forwarded to this service."""
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._limit = max_connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=30),
                timeout=self._timeout,
                # Bodies pass through as the service encoded them, with their Content-Encoding.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _connection_named(headers: list[tuple[bytes, bytes]]) -> set[str]:
    """Headers a ``Connection:`` header names are hop-by-hop too (RFC 9110 §7.6.1)."""
    named: set[str] = set()
    for key, value in headers:
        if key.lower() == b"connection":
            named.update(t.strip().lower() for t in value.decode("latin-1").split(",") if t.strip())
    return named


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
        self.proxies = TrustedProxies(settings.trusted_proxies)
        self.max_body_bytes = settings.max_body_bytes
        self.clients_limit = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.anonymous_limit = TokenBuckets(
            settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upstream = self.upstreams.get(path[1:].split("/", 1)[0])
        if upstream is not None:
            scope[ROUTE_KEY] = upstream.route
        try:
            send = _stamped(send, self._admit(scope, path))
            if upstream is None:
                await self.app(scope, receive, send)
                return
            await self._forward(upstream, scope, receive, send)
        except ProblemError as exc:
            await exc.to_response()(scope, receive, send)
        except ClientGone:
            return

    def _admit(self, scope: Scope, path: str) -> Quota:
        """Rate limits, then the token, before anything is forwarded; the quota the call was
        counted against (liveness and the documents, not counted, are told their address's).

        A call without a token counts against its caller's address. A token this process has
        verified before is checked from memory and counts against its client. Any other token
        is verified only while its caller's address has calls left, and counts against the
        address if it fails: forged, expired or revoked tokens are limited like anonymous calls,
        and once an address has used up its calls they are refused before their signature costs
        anything.
        """
        address = address_key(self.proxies.caller(scope))
        authorization = _header(scope, b"authorization")
        if authorization is None:
            if path in _UNLIMITED_PATHS or path.endswith("/healthz"):
                return self.anonymous_limit.standing(address)
            return _admitted(self.anonymous_limit.take(address))
        try:
            token = bearer_token(authorization)
            if not self.verifier.knows(token):
                refusal = self.anonymous_limit.peek(address)
                if refusal.wait:
                    raise _too_many(refusal)
            principal = self.verifier.verify(token)
        except Unauthorized as exc:
            quota = self.anonymous_limit.take(address)
            if quota.wait:
                raise _too_many(quota) from None
            exc.headers = {**(exc.headers or {}), **quota.headers()}
            raise
        return _admitted(self.clients_limit.take(principal.client_id))

    async def _read_body(self, receive: Receive) -> bytes:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                raise PayloadTooLarge(f"request bodies are limited to {self.max_body_bytes} bytes")
            if not message.get("more_body"):
                return bytes(body)

    async def _forward(
        self, upstream: Upstream, scope: Scope, receive: Receive, send: Send
    ) -> None:
        body = await self._read_body(receive)
        skip = _REQUEST_SKIP | _connection_named(scope["headers"])
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in skip
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
        timer = UpstreamTimer(upstream.metrics, upstream.name)
        if not upstream.breaker.allow():
            timer.done("circuit_open")
            raise UpstreamUnavailable(f"{upstream.name} is unavailable (circuit open)")
        try:
            async with upstream.session.request(
                scope["method"],
                URL(url, encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                status = response.status
                raw_headers = list(response.raw_headers)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            timer.done("timeout")
            upstream.breaker.record_failure()
            raise UpstreamTimeout(f"{upstream.name} did not answer in time") from None
        except aiohttp.ClientError as exc:
            timer.done("unavailable")
            upstream.breaker.record_failure()
            log.warning("%s unreachable: %s", upstream.name, type(exc).__name__)
            raise UpstreamUnavailable(f"{upstream.name} is unavailable") from None
        # The service answered, so its circuit is healthy, whatever the status: a 503 it
        # gives because one of its own upstreams is down must not cut off all its routes.
        timer.done(status_outcome(status))
        upstream.breaker.record_success()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _response_headers(raw_headers, status, scope["method"], len(content)),
            }
        )
        await send({"type": "http.response.body", "body": content})


def _response_headers(
    raw: list[tuple[bytes, bytes]], status: int, method: str, length: int
) -> list[tuple[bytes, bytes]]:
    skip = _RESPONSE_SKIP | _connection_named(raw)
    if method == "HEAD":
        skip = skip - {"content-length"}  # a HEAD answer states the length of the GET's body
    out = [(k, v) for k, v in raw if k.decode("latin-1").lower() not in skip]
    if method != "HEAD" and status not in _NO_BODY_STATUSES and status >= 200:
        out.append((b"content-length", str(length).encode()))
    return out


def _too_many(quota: Quota) -> TooManyRequests:
    return TooManyRequests("rate limit exceeded for this client", headers=quota.headers())


def _admitted(quota: Quota) -> Quota:
    if quota.wait:
        raise _too_many(quota)
    return quota


def _stamped(send: Send, quota: Quota) -> Send:
    """``send`` adding the quota's RateLimit headers to the response."""
    headers = quota.raw_headers()

    async def send_stamped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
        await send(message)

    return send_stamped


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
