"""The fast lane answers exactly as the router would, and only for its own routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import NotFound, install_error_handlers
from shared.fastlane import FastLane, lane_routes
from shared.middleware import RequestContextMiddleware

router = APIRouter(prefix="/v1")


@router.get("/things/{thing}/state")
async def thing_state(request: Request) -> Any:
    thing = request.path_params["thing"]
    if thing == "missing":
        raise NotFound(f"thing {thing} not found")
    if thing == "teapot":
        raise HTTPException(418, "short and stout")
    if thing == "broken":
        raise RuntimeError("a bug")
    return JSONResponse({"thing": thing, "q": request.query_params.get("q")})


@router.get("/things/{thing}")
async def thing(thing: str) -> dict[str, str]:
    return {"thing": thing}


class PastTheLane:
    """Counts the requests that reach the router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reached_router.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


reached_router: list[str] = []


def build(lane: bool) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.add_middleware(PastTheLane)
    if lane:
        app.add_middleware(FastLane, routes=lane_routes(router, thing_state))
    app.add_middleware(RequestContextMiddleware, access_log=False)
    return app


async def answer(app: FastAPI, method: str, url: str) -> tuple[int, dict[str, str], bytes]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, url, headers={"X-Request-ID": "req-1"})
    headers = {k: v for k, v in response.headers.items() if k != "date"}
    return response.status_code, headers, response.content


@pytest.mark.parametrize(
    ("method", "url", "by_lane"),
    [
        ("GET", "/v1/things/a1/state?q=x", True),
        ("GET", "/v1/things/missing/state", True),  # a domain problem
        ("GET", "/v1/things/teapot/state", True),  # an HTTP exception
        ("GET", "/v1/things/broken/state", True),  # a bug: 500 from the request context
        ("HEAD", "/v1/things/a1/state", False),
        ("POST", "/v1/things/a1/state", False),
        ("GET", "/v1/things/a1/state/", False),
        ("GET", "/v1/things/a1", False),
        ("GET", "/v1/nothing", False),
    ],
)
async def test_the_lane_answers_as_the_router_does(method: str, url: str, by_lane: bool) -> None:
    reached_router.clear()
    routed = await answer(build(lane=False), method, url)
    assert reached_router == [f"{method} {url.split('?')[0]}"]
    reached_router.clear()
    laned = await answer(build(lane=True), method, url)
    assert laned == routed
    assert reached_router == ([] if by_lane else [f"{method} {url.split('?')[0]}"])


async def test_a_problem_from_the_lane_carries_the_request_id() -> None:
    status, headers, body = await answer(build(lane=True), "GET", "/v1/things/missing/state")
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-request-id"] == "req-1"
    assert b'"request_id":"req-1"' in body


def test_only_request_reading_endpoints_first_in_their_router_may_take_the_lane() -> None:
    with pytest.raises(ValueError, match="come first"):
        lane_routes(router, thing)
    with pytest.raises(ValueError, match="fewer routes"):
        lane_routes(APIRouter(), thing_state)
    declared = APIRouter()

    @declared.get("/x/{x}")
    async def with_parameter(x: int) -> None:
        return None

    with pytest.raises(ValueError, match="takes only the request"):
        lane_routes(declared, with_parameter)
    blocking = APIRouter()

    @blocking.get("/y")
    def sync(request: Request) -> None:
        return None

    with pytest.raises(ValueError, match="is async"):
        lane_routes(blocking, sync)
    assert [r.path for r in lane_routes(router, thing_state)] == ["/v1/things/{thing}/state"]
