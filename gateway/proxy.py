"""Forwarding to the services, as plain ASGI (the gateway's hot path).

Admits each call first (rate limits, then the token, if any), applies the body limits, and
forwards through each service's :class:`~shared.http.Upstream` within the request's deadline
(503/504 problem+json when a service is down or does not answer in time). Paths are forwarded
unchanged: each service serves its own prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

from multidict import CIMultiDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.forwarded import TrustedProxies
from gateway.ratelimit import Quota, TokenBuckets, address_key
from shared.auth import TokenVerifier, bearer_token
from shared.errors import ProblemError, TooManyRequests, Unauthorized
from shared.http import Upstream
from shared.limits import check_body, read_body
from shared.metrics import ROUTE_KEY
from shared.settings import Settings

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
# The request ID, the time left and the client's address are the gateway's to set.
_REQUEST_SKIP = _HOP_BY_HOP | {
    "host",
    "content-length",
    "x-request-id",
    "x-forwarded-for",
    "x-time-left-ms",
}
# The gateway sets its own length, date, server and request ID on what it sends back.
_RESPONSE_SKIP = _HOP_BY_HOP | {"content-length", "date", "server", "x-request-id"}
# Liveness and the documents cost next to nothing. /readyz is not here: each call pings the
# database and every upstream, so through an ingress it is rate-limited like any anonymous call
# (kubelet probes, a few a minute, stay far below the limit).
_UNLIMITED_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect"})
_NO_BODY_STATUSES = frozenset({204, 304})


def _connection_named(headers: Sequence[tuple[bytes, bytes]]) -> set[str]:
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
        self.routes = {name: f"/{name}/{{path}}" for name in upstreams}
        """The route label of everything forwarded to each service."""
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
            scope[ROUTE_KEY] = self.routes[upstream.name]
        try:
            send = _stamped(send, self._admit(scope, path))
            if upstream is None:
                await self.app(scope, receive, send)
                return
            await self._forward(upstream, scope, receive, send)
        except ProblemError as exc:
            await exc.to_response()(scope, receive, send)

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

    async def _forward(
        self, upstream: Upstream, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = scope["headers"]
        body = await read_body(receive, self.max_body_bytes)
        if body is None:
            return  # the client went away before sending all of it: nothing is forwarded
        if body:
            check_body(body, _header(scope, b"content-type"), self.max_body_bytes)
        skip = _REQUEST_SKIP | _connection_named(headers)
        forwarded: CIMultiDict[str] = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in headers
            if k.decode("latin-1").lower() not in skip
        )
        client = scope.get("client")  # the caller, as _admit found it behind trusted proxies
        if client:
            forwarded["X-Forwarded-For"] = client[0]
        # raw_path keeps the client's percent-encoding intact.
        path: bytes = scope.get("raw_path") or scope["path"].encode()
        target = path.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        answer = await upstream.forward(scope["method"], target, forwarded, body or None)
        status = answer.status_code
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _response_headers(
                    answer.raw_headers, status, scope["method"], len(answer.content)
                ),
            }
        )
        await send({"type": "http.response.body", "body": answer.content})


def _response_headers(
    raw: Sequence[tuple[bytes, bytes]], status: int, method: str, length: int
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
