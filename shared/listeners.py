"""Each process listens on two ports: its public one, and an internal one that is never published
(``Settings.internal_port``, 9000-9004 by default) where Prometheus scrapes ``/metrics`` and the
services read the gateway's revocation list.

This layer tells them apart by the port a request arrived on (the ASGI ``server``), which a
caller cannot forge the way it can forge ``X-Forwarded-For``: the internal port answers only
the internal paths and health, the public port everything but the internal paths.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import problem_response

REVOCATIONS_PATH = "/internal/revocations"
INTERNAL_ONLY = frozenset({"/metrics", REVOCATIONS_PATH})
"""Never answered on the public port."""
ON_INTERNAL = INTERNAL_ONLY | {"/healthz", "/readyz"}
"""All the internal port answers."""
INTERNAL_KEY = "yibao.internal"
"""Set in the scope of a request that arrived on the internal port."""


class Listeners:
    def __init__(
        self, app: ASGIApp, *, internal_port: int, internal_app: ASGIApp | None = None
    ) -> None:
        """``internal_app``: what serves the internal port, when not ``app`` itself (the
        gateway's own routes, past its proxy and its admission)."""
        self.app = app
        self.internal_port = internal_port
        self.internal_app = internal_app or app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = scope.get("server")
        internal = server is not None and server[1] == self.internal_port
        if internal:
            scope[INTERNAL_KEY] = True
        path: str = scope["path"]
        if internal and path in ON_INTERNAL:
            await self.internal_app(scope, receive, send)
        elif internal or path in INTERNAL_ONLY:
            await problem_response(404, "Not found", "no such path")(scope, receive, send)
        else:
            await self.app(scope, receive, send)
