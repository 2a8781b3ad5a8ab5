"""Forwarding to the services, as plain ASGI (the gateway's hot path).

Checks the token (if any) before forwarding, applies the rate limit and answers 503/504
problem+json when a service is down, failing or slow. Paths are forwarded unchanged: each
service serves its own prefix.
"""

from __future__ import annotations

import logging

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.ratelimit import TokenBuckets, retry_after_header
from shared.auth import TokenVerifier
from shared.context import request_id_var
from shared.errors import ProblemError, TooManyRequests, Unauthorized, problem_response
from shared.http import CircuitBreaker, is_timeout
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
    def __init__(self, name: str, client: httpx.AsyncClient, breaker: CircuitBreaker) -> None:
        self.name = name
        self.client = client
        self.breaker = breaker


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
        headers = [
            (k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP and k != b"x-request-id"
        ]
        request_id = request_id_var.get()
        if request_id:
            headers.append((b"x-request-id", request_id.encode()))
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))
        url = scope["path"]
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        if not upstream.breaker.allow():
            await problem_response(
                503, "Service unavailable", f"{upstream.name} is unavailable (circuit open)"
            )(scope, receive, send)
            return
        try:
            response = await upstream.client.request(
                scope["method"], url, headers=headers, content=bytes(body)
            )
        except httpx.TransportError as exc:
            upstream.breaker.record_failure()
            if is_timeout(exc):
                await problem_response(
                    504, "Upstream timeout", f"{upstream.name} did not answer in time"
                )(scope, receive, send)
                return
            log.warning("%s unreachable: %s", upstream.name, type(exc).__name__)
            await problem_response(503, "Service unavailable", f"{upstream.name} is unavailable")(
                scope, receive, send
            )
            return
        if response.status_code >= 500:
            upstream.breaker.record_failure()
        else:
            upstream.breaker.record_success()
        content = response.content
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in _RESPONSE_SKIP
        ]
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": out_headers}
        )
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
