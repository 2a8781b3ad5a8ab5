"""Direct dispatch of a service's hottest routes, past FastAPI's router.

Under load (``make bench``, profiled with py-spy) FastAPI's exception middleware, router and
request handler took about a third of the enrollment process's CPU on the eligibility read:
more than the query, its access-log entry and the JSON together. A route whose endpoint reads
its request by hand (it takes only the ``Request``, its parameters declared for the OpenAPI
document) can be served without them: :class:`FastLane` gives a request of that method and
path to the endpoint directly, inside the request-context middleware (request ID, access log
line, metrics) and with the app's own exception handlers, so the answer is the one the router
would give. Every other request, including a HEAD of the same path, goes through FastAPI.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


def lane_routes(
    router: APIRouter, *endpoints: Callable[[Request], Awaitable[Response]]
) -> list[APIRoute]:
    """The routes of these endpoints, checked fit for :class:`FastLane`.

    They must be the first routes of ``router``: the lane answers before the router, so a lane
    route declared after another route matching the same requests would take them from it.
    """
    if len(router.routes) < len(endpoints):
        raise ValueError(f"the router has fewer routes than the lane's {len(endpoints)}")
    routes: list[APIRoute] = []
    for route in router.routes[: len(endpoints)]:
        if not isinstance(route, APIRoute) or route.endpoint not in endpoints:
            raise ValueError(f"{route!r}: the lane's routes come first in their router")
        dependant = route.dependant
        declared = (
            dependant.path_params,
            dependant.query_params,
            dependant.header_params,
            dependant.cookie_params,
            dependant.body_params,
            dependant.dependencies,
        )
        if any(declared) or dependant.request_param_name is None:
            # The router would validate these before the endpoint runs; the lane would not.
            raise ValueError(f"{route.path}: a lane endpoint takes only the request")
        if not inspect.iscoroutinefunction(route.endpoint):
            raise ValueError(f"{route.path}: a lane endpoint is async")
        routes.append(route)
    return routes


class FastLane:
    """Pure ASGI, placed inside the request-context middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, routes: Sequence[APIRoute]) -> None:
        self.app = app
        self.routes = [(method, route) for route in routes for method in route.methods or ()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A root path would change what the path is matched against: left to the router.
        if scope["type"] == "http" and not scope.get("root_path"):
            method = scope["method"]
            for route_method, route in self.routes:
                if method != route_method:
                    continue
                match = route.path_regex.match(scope["path"])
                if match is not None:
                    await self._serve(route, match.groupdict(), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        route: APIRoute,
        path_params: dict[str, Any],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        # What the router would have put in the scope (the metrics label reads the route).
        scope["path_params"] = {
            name: route.param_convertors[name].convert(value) for name, value in path_params.items()
        }
        scope["endpoint"] = route.endpoint
        scope["route"] = route
        request = Request(scope, receive, send)
        try:
            response: Response = await route.endpoint(request)
        except Exception as exc:
            handler = _exception_handler(scope["app"], exc)
            if handler is None:
                raise  # as past the router: the request-context middleware answers 500
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)


def _exception_handler(app: Any, exc: Exception) -> Any:
    """The handler Starlette's exception middleware would pick: by status for an HTTP
    exception, else by the nearest class; 500 and ``Exception`` are not its to handle."""
    handlers: dict[Any, Any] = app.exception_handlers
    if isinstance(exc, HTTPException) and exc.status_code != 500 and exc.status_code in handlers:
        return handlers[exc.status_code]
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
