"""What every process does to every request and response, whatever the route: request headers
are bounded (431), and no response may be stored by a cache or sniffed into another type.

A plain ASGI layer inside the request context (the 431 carries the request ID and is logged like
any answer) and outside everything else, so the gateway's own routes, what it forwards, and
every service route (the fast lane included) pass through it once. uvicorn parses whatever
headers arrive (httptools sets no limit of its own), so the bound is here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import problem_response

_NO_STORE = (b"cache-control", b"no-store")
_NOSNIFF = (b"x-content-type-options", b"nosniff")


class Hardening:
    def __init__(self, app: ASGIApp, *, max_header_bytes: int, max_header_count: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                # A response that chose its own caching (none does today) keeps it; a forwarded
                # one already carries the service's, which must not appear twice.
                if b"cache-control" not in names:
                    headers.append(_NO_STORE)
                if b"x-content-type-options" not in names:
                    headers.append(_NOSNIFF)
                message["headers"] = headers
            await send(message)

        headers = scope["headers"]
        if (
            len(headers) > self.max_header_count
            or sum(len(name) + len(value) for name, value in headers) > self.max_header_bytes
        ):
            response = problem_response(
                431,
                "Request header fields too large",
                f"request headers are limited to {self.max_header_count} fields and "
                f"{self.max_header_bytes} bytes in all",
            )
            await response(scope, receive, send_hardened)
            return
        await self.app(scope, receive, send_hardened)
