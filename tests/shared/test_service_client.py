"""The one upstream HTTP class: retries, the breaker, request IDs, deadlines, error mapping."""

import asyncio
import time

import httpx
import pytest

from shared.context import request_id_var
from shared.deadline import Deadline
from shared.errors import UpstreamTimeout, UpstreamUnavailable
from shared.http import BreakerState, CircuitBreaker, Upstream


def client_with(handler, *, retries=2, threshold=5) -> Upstream:
    return Upstream(
        "upstream",
        "http://upstream",
        retries=retries,
        breaker=CircuitBreaker("upstream", threshold=threshold, reset_seconds=60),
        transport=httpx.MockTransport(handler),
    )


async def test_get_is_retried_on_503_and_carries_the_request_id():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("x-request-id"))
        return httpx.Response(503 if len(calls) < 3 else 200, json={"ok": True})

    token = request_id_var.set("req-42")
    try:
        response = await client_with(handler).get("/thing")
    finally:
        request_id_var.reset(token)
    assert response.status_code == 200
    assert calls == ["req-42"] * 3


async def test_post_is_never_retried():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    with pytest.raises(UpstreamUnavailable):
        await client_with(handler).post("/settle", json={})
    assert calls == 1


async def test_4xx_is_returned_not_raised_and_does_not_count_as_failure():
    client = client_with(lambda r: httpx.Response(404, json={"title": "Not found"}), threshold=1)
    assert (await client.get("/missing")).status_code == 404
    assert client.breaker.state is BreakerState.closed


async def test_open_breaker_fails_fast_without_calling():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    client = client_with(handler, retries=0, threshold=2)
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await client.get("/x")
    assert client.breaker.state is BreakerState.open
    with pytest.raises(UpstreamUnavailable, match="circuit open"):
        await client.get("/x")
    assert calls == 2


async def test_a_slow_upstream_is_a_504():
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamTimeout):
        await client_with(handler, retries=0).get("/slow")


async def test_real_refused_connection_is_503_not_timeout():
    client = Upstream("down", "http://127.0.0.1:9", retries=0)
    try:
        with pytest.raises(UpstreamUnavailable):
            await client.get("/healthz")
    finally:
        await client.aclose()


async def test_real_slow_upstream_is_504():
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Upstream("slow", f"http://127.0.0.1:{port}", timeout=0.3, retries=0)
    try:
        with pytest.raises(UpstreamTimeout):
            await client.get("/healthz")
    finally:
        await client.aclose()
        server.close()


async def test_over_the_network_json_params_and_request_id_arrive():
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "request_id": request.headers.get("X-Request-ID"),
                "authorization": request.headers.get("Authorization"),
                "query": dict(request.query),
                "body": await request.json() if request.can_read_body else None,
            },
            status=201 if request.method == "POST" else 200,
        )

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = Upstream("echo", f"http://127.0.0.1:{port}")
    token = request_id_var.set("net-7")
    try:
        got = await client.post(
            "/echo?date=2026-01-01",
            json={"amount": "12.30"},
            headers={"Authorization": "Bearer t"},
        )
        assert got.status_code == 201
        assert got.json() == {
            "request_id": "net-7",
            "authorization": "Bearer t",
            "query": {"date": "2026-01-01"},
            "body": {"amount": "12.30"},
        }
        assert got.header("content-type").startswith("application/json")
    finally:
        request_id_var.reset(token)
        await client.aclose()
        await runner.cleanup()


async def test_each_call_says_how_much_time_is_left_and_retries_stay_within_it():
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(int(request.headers["x-time-left-ms"]))
        return httpx.Response(503)

    client = client_with(handler, retries=50)
    deadline = Deadline.within(0.4)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        await client.get("/busy", deadline=deadline)
    assert time.monotonic() - started < 0.4
    assert 1 < len(seen) < 50  # retried, but only while time was left
    assert seen[0] <= 400 and seen == sorted(seen, reverse=True)


async def test_no_call_is_made_without_time_left():
    calls = []
    client = client_with(lambda r: calls.append(r) or httpx.Response(200))
    with pytest.raises(UpstreamTimeout, match="no time was left"):
        await client.get("/x", deadline=Deadline(time.monotonic(), time.monotonic()))
    assert calls == []
    assert client.breaker.failures == 0  # our lateness is not the upstream's failure


async def test_answers_never_open_the_breaker_no_answer_does():
    answers = client_with(lambda r: httpx.Response(504), retries=0, threshold=1)
    for _ in range(3):
        with pytest.raises(UpstreamTimeout, match="ran out of time"):
            await answers.get("/x")  # its own dependency timed out: it answered all the same
    assert answers.breaker.state is BreakerState.closed

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    frozen = client_with(hang, retries=2, threshold=1)
    with pytest.raises(UpstreamTimeout):
        await frozen.get("/x", deadline=Deadline.within(0.2))
    assert frozen.breaker.state is BreakerState.open
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="circuit open"):
        await frozen.get("/x", deadline=Deadline.within(5.0))
    assert time.monotonic() - started < 0.05  # at once, not after a timeout
