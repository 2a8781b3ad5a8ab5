"""Request context as plain ASGI middleware (no per-request task hop, unlike BaseHTTPMiddleware).

Takes ``X-Request-ID`` from the request or makes one, keeps it in a context variable for logs
and outgoing calls, echoes it on the response and writes one access log line per request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import request_id_var
from shared.errors import problem_response
from shared.listeners import INTERNAL_KEY
from shared.metrics import Metrics, route_of

log = logging.getLogger("yibao.access")
log_errors = logging.getLogger("yibao.errors")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, *, access_log: bool = True, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            # Answer here rather than in Starlette's outermost handler, which runs after this
            # middleware and so without the request ID.
            log_errors.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started_response:
                raise
            status = 500
            await problem_response(
                500, "Internal error", "an unexpected error occurred; it is logged"
            )(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe_request(scope["method"], route_of(scope), status, duration)
            # Scrapes and revocation polls on the internal port are counted, not logged: every
            # replica's poll every few seconds would crowd out the callers' lines.
            if self.access_log and not (scope.get(INTERNAL_KEY) and status < 400):
                log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(duration * 1000, 2),
                    },
                )
            request_id_var.reset(token)
