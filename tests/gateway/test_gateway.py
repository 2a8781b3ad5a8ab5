"""The gateway in-process: tokens, checks before forwarding, rate limits, upstream failures."""

import asyncio

import httpx
import jwt
import pytest

from gateway.app import create_app, fastapi_of
from tests.conftest import running

# Nothing listens on port 9: forwarded calls meet a refused connection.
DOWN = {n: "http://127.0.0.1:9" for n in ("enrollment", "claims", "stations", "childcare")}


@pytest.fixture(scope="module")
async def gateway(settings_for):
    app = create_app(settings_for("gateway", service_urls=DOWN, rate_limit_anonymous_burst=1000))
    async with running(fastapi_of(app), asgi=app) as client:
        yield client


async def register(gateway, auth, kind, bind=None):
    response = await gateway.post(
        "/auth/clients", json={"kind": kind, "bind": bind}, headers=auth("admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_client_credentials_give_a_token_every_service_accepts(gateway, auth, keys):
    client = await register(gateway, auth, "pharmacy", "P37160200007")
    response = await gateway.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["scope"] == "pharmacy:P37160200007"
    claims = jwt.decode(
        body["access_token"], keys[1].read_text(), algorithms=["EdDSA"], audience="yibao"
    )
    assert claims["kind"] == "pharmacy" and claims["bound"] == "P37160200007"


async def test_wrong_secret_is_401_problem(gateway, auth):
    client = await register(gateway, auth, "admin")
    response = await gateway.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": "no",
        },
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error"] == "invalid_client"


async def test_app_token_needs_a_person_and_others_cannot_have_one(gateway, auth):
    app_client = await register(gateway, auth, "app")
    form = {
        "grant_type": "client_credentials",
        **{k: app_client[k] for k in ("client_id", "client_secret")},
    }
    missing = await gateway.post("/auth/token", data=form)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "person_id"
    ok = await gateway.post("/auth/token", data={**form, "person_id": "7"})
    assert ok.status_code == 200 and ok.json()["scope"] == "app person:7"


async def test_bound_kinds_need_a_code(gateway, auth):
    response = await gateway.post(
        "/auth/clients", json={"kind": "institution"}, headers=auth("admin")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "bind"


async def test_only_admins_register_clients(gateway, auth):
    response = await gateway.post(
        "/auth/clients", json={"kind": "admin"}, headers=auth("pharmacy", "P37160200007")
    )
    assert response.status_code == 403


async def test_forged_or_malformed_token_is_rejected_before_forwarding(gateway, token):
    genuine = token("admin")
    header, payload, signature = genuine.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    for value in (f"Bearer {forged}", "Bearer not-a-jwt", f"Basic {genuine}"):
        response = await gateway.get("/enrollment/v1/persons", headers={"Authorization": value})
        # 401, not the 503 forwarding to a dead upstream would give: nothing was forwarded.
        assert response.status_code == 401, value
        assert response.headers["content-type"] == "application/problem+json"


async def test_service_down_is_503_problem_with_request_id(gateway, auth):
    response = await gateway.get(
        "/enrollment/v1/persons", headers={**auth("admin"), "X-Request-ID": "trace-123"}
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "trace-123"
    assert response.json()["request_id"] == "trace-123"


async def test_unknown_path_and_wrong_method(gateway):
    unknown = await gateway.get("/nowhere/at/all")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    wrong = await gateway.get("/auth/token")
    assert wrong.status_code == 405 and wrong.json()["status"] == 405


async def test_rate_limit_is_429_with_retry_after(settings_for, auth):
    app = create_app(
        settings_for("gateway", service_urls=DOWN, rate_limit_per_second=0.5, rate_limit_burst=2)
    )
    headers = auth("station", "9")
    async with running(fastapi_of(app), asgi=app) as client:
        statuses = [
            (await client.get("/stations/v1/service-items", headers=headers)).status_code
            for _ in range(3)
        ]
        assert statuses[:2] == [503, 503]  # let through, upstream down
        assert statuses[2] == 429
        limited = await client.get("/stations/v1/service-items", headers=headers)
        assert int(limited.headers["retry-after"]) >= 1
        # Another client has its own bucket.
        other = await client.get("/stations/v1/service-items", headers=auth("station", "10"))
        assert other.status_code == 503


async def test_slow_service_is_504_problem(settings_for, auth):
    import asyncio

    async def never_answer(reader, writer):
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    urls = {**DOWN, "claims": f"http://127.0.0.1:{port}"}
    app = create_app(settings_for("gateway", service_urls=urls, upstream_timeout_seconds=0.3))
    try:
        async with running(fastapi_of(app), asgi=app) as client:
            response = await client.get("/claims/v1/policies", headers=auth("admin"))
            assert response.status_code == 504
            assert response.headers["content-type"] == "application/problem+json"
    finally:
        server.close()


async def test_a_body_over_the_limit_is_413_and_not_forwarded(settings_for, auth):
    app = create_app(settings_for("gateway", service_urls=DOWN, max_body_bytes=1000))
    async with running(fastapi_of(app), asgi=app) as client:
        response = await client.post(
            "/claims/v1/settlements", content=b"x" * 5000, headers=auth("admin")
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"


async def test_metrics_and_the_revocation_list_answer_on_the_internal_port_alone(
    settings_for, auth
):
    app = create_app(settings_for("gateway", service_urls=DOWN, internal_port=9100))
    async with running(fastapi_of(app), asgi=app) as public:
        internal = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway:9100"
        )
        assert (await public.get("/healthz")).status_code == 200
        metrics = await internal.get("/metrics")
        assert metrics.status_code == 200
        assert 'yibao_http_requests_total{method="GET",route="/healthz",status="200"}' in (
            metrics.text
        )
        listed = await internal.get("/internal/revocations")
        assert listed.status_code == 200
        assert listed.headers["content-type"] == "application/jwt"
        verifier = fastapi_of(app).state.token_verifier
        assert verifier.read_revocations(listed.text) == verifier.revocations.client_ids
        assert (await internal.get("/healthz")).status_code == 200
        # Only those: no API, no tokens, nothing forwarded on the internal port.
        for path in ("/auth/clients", "/enrollment/v1/persons", "/openapi.json"):
            response = await internal.get(path, headers=auth("admin"))
            assert response.status_code == 404, path
        for path in ("/metrics", "/internal/revocations"):
            for headers in ({}, {"X-Forwarded-For": "203.0.113.7"}, auth("admin")):
                refused = await public.get(path, headers=headers)
                assert refused.status_code == 404, (path, headers)
                assert refused.headers["content-type"] == "application/problem+json"
        await internal.aclose()


async def token_for(gateway, client) -> str:
    response = await gateway.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def test_a_disabled_clients_tokens_are_refused_before_they_expire(gateway, auth):
    client = await register(gateway, auth, "institution", "H37160200001")
    headers = {"Authorization": f"Bearer {await token_for(gateway, client)}"}
    # Accepted, forwarded, and (every service being down here) answered 503.
    assert (await gateway.get("/claims/v1/drugs", headers=headers)).status_code == 503
    assert (
        await gateway.post(
            f"/auth/clients/{client['client_id']}/disable", headers=auth("pharmacy", "P37160200007")
        )
    ).status_code == 403
    disabled = await gateway.post(
        f"/auth/clients/{client['client_id']}/disable", headers=auth("admin")
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    again = await gateway.post(
        f"/auth/clients/{client['client_id']}/disable", headers=auth("admin")
    )
    assert again.json()["disabled_at"] == disabled.json()["disabled_at"]  # idempotent

    refused = await gateway.get("/claims/v1/drugs", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "disabled" in refused.json()["detail"]
    # No new token either.
    new_token = await gateway.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert new_token.status_code == 401
    unknown = await gateway.post("/auth/clients/admin-000000000000/disable", headers=auth("admin"))
    assert unknown.status_code == 404
    malformed = await gateway.post("/auth/clients/nobody-000/disable", headers=auth("admin"))
    assert malformed.status_code == 422


async def test_an_admin_enables_a_disabled_client_again(gateway, auth):
    client = await register(gateway, auth, "institution", "H37160200001")
    headers = {"Authorization": f"Bearer {await token_for(gateway, client)}"}
    enable = f"/auth/clients/{client['client_id']}/enable"
    assert (await gateway.post(enable, headers=auth("station", "1"))).status_code == 403
    await gateway.post(f"/auth/clients/{client['client_id']}/disable", headers=auth("admin"))
    assert (await gateway.get("/claims/v1/drugs", headers=headers)).status_code == 401

    enabled = await gateway.post(enable, headers=auth("admin"))
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled_at"] is None
    assert (await gateway.post(enable, headers=auth("admin"))).status_code == 200  # idempotent
    # Its unexpired token is accepted again (forwarded; every service is down here: 503),
    # and it gets new ones.
    assert (await gateway.get("/claims/v1/drugs", headers=headers)).status_code == 503
    assert await token_for(gateway, client)
    listed = await gateway.get("/auth/clients", params={"limit": 500}, headers=auth("admin"))
    mine = [c for c in listed.json()["items"] if c["client_id"] == client["client_id"]]
    assert mine[0]["disabled_at"] is None
    unknown = await gateway.post("/auth/clients/admin-000000000000/enable", headers=auth("admin"))
    assert unknown.status_code == 404


async def test_an_api_client_field_in_another_type_is_refused(gateway, auth):
    for body, field in [
        ({"kind": "admin", "name": 5}, "body.name"),
        ({"kind": "pharmacy", "bind": 37160200007}, "body.bind"),
        ({"kind": "admin", "name": "a\x00"}, "body.name"),
        ({"kind": True}, "body.kind"),
    ]:
        answer = await gateway.post("/auth/clients", json=body, headers=auth("admin"))
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field]
    token = await gateway.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_id": "admin-0", "client_secret": "x"},
    )
    assert token.status_code == 422
    assert [e["field"] for e in token.json()["errors"]] == ["body.client_id"]


async def test_another_gateway_process_learns_of_a_disabled_client(settings_for, auth):
    settings = settings_for(
        "gateway", service_urls=DOWN, revocation_refresh_seconds=0.05, rate_limit_burst=1000
    )
    first, second = create_app(settings), create_app(settings)
    async with (
        running(fastapi_of(first), asgi=first) as one,
        running(fastapi_of(second), asgi=second) as other,
    ):
        client = await register(one, auth, "institution", "H37160200001")
        headers = {"Authorization": f"Bearer {await token_for(one, client)}"}
        assert (await other.get("/claims/v1/drugs", headers=headers)).status_code == 503
        disabled = await one.post(
            f"/auth/clients/{client['client_id']}/disable", headers=auth("admin")
        )
        assert disabled.status_code == 200
        for _ in range(100):
            status = (await other.get("/claims/v1/drugs", headers=headers)).status_code
            if status == 401:
                break
            await asyncio.sleep(0.02)
        assert status == 401


async def test_admins_list_clients_a_page_at_a_time(gateway, auth):
    made = {(await register(gateway, auth, "admin"))["client_id"] for _ in range(3)}
    seen: set[str] = set()
    cursor = None
    for _ in range(100):
        query = "/auth/clients?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await gateway.get(query, headers=auth("admin"))
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            assert "client_secret" not in item and "secret_hash" not in item
            seen.add(item["client_id"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert made <= seen
    assert (await gateway.get("/auth/clients", headers=auth("station", "S-1"))).status_code == 403


async def test_a_refresh_that_read_before_the_disable_does_not_forget_it(settings_for):
    from gateway.revocation import DatabaseRevocations

    app = create_app(settings_for("gateway", service_urls=DOWN))
    async with running(fastapi_of(app), asgi=app):
        database = fastapi_of(app).state.database
        revocations = DatabaseRevocations()
        # Disabled in this process; the database does not show it yet (the disable's
        # transaction commits after the route returns).
        revocations.add("pharmacy-not-yet-committed")
        await revocations.refresh(database)
        assert "pharmacy-not-yet-committed" in revocations


async def test_readiness_is_rate_limited_liveness_is_not(settings_for):
    app = create_app(
        settings_for(
            "gateway",
            service_urls=DOWN,
            rate_limit_anonymous_per_second=0.1,
            rate_limit_anonymous_burst=2,
        )
    )
    async with running(fastapi_of(app), asgi=app) as client:
        # /readyz pings the database and every upstream: not free to call without end.
        ready = [(await client.get("/readyz")).status_code for _ in range(3)]
        assert ready[:2] == [200, 200] and ready[2] == 429
        assert (await client.get("/claims/readyz")).status_code == 429
        for _ in range(5):
            assert (await client.get("/healthz")).status_code == 200


@pytest.fixture
async def echo_service():
    """A stand-in service on a real port: answers what it was sent, or the status asked."""
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        status = int(request.query.get("status", "200"))
        return web.json_response(
            {"time_left_ms": request.headers.get("X-Time-Left-Ms")}, status=status
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_the_service_is_told_the_time_left_never_more_than_the_gateways(
    settings_for, auth, echo_service
):
    urls = {**DOWN, "claims": echo_service}
    app = create_app(settings_for("gateway", service_urls=urls, upstream_timeout_seconds=2.0))
    async with running(fastapi_of(app), asgi=app) as client:
        plain = await client.get("/claims/v1/x", headers=auth("admin"))
        asked = await client.get("/claims/v1/x", headers={**auth("admin"), "X-Time-Left-Ms": "700"})
        greedy = await client.get(
            "/claims/v1/x", headers={**auth("admin"), "X-Time-Left-Ms": "60000"}
        )
    assert 1500 < int(plain.json()["time_left_ms"]) <= 2000
    assert 400 < int(asked.json()["time_left_ms"]) <= 700  # a client may ask for less
    assert 1500 < int(greedy.json()["time_left_ms"]) <= 2000  # never for more


async def test_a_service_reporting_its_dependency_down_keeps_its_circuit_closed(
    settings_for, auth, echo_service
):
    urls = {**DOWN, "claims": echo_service}
    app = create_app(settings_for("gateway", service_urls=urls, breaker_failure_threshold=2))
    async with running(fastapi_of(app), asgi=app) as client:
        for status in (503, 504, 503, 504, 503):
            answer = await client.get(f"/claims/v1/x?status={status}", headers=auth("admin"))
            assert answer.status_code == status  # the service's own answer, passed on
        assert (await client.get("/claims/v1/x", headers=auth("admin"))).status_code == 200
        # Refused connections are the service's own unavailability: those open it.
        for _ in range(2):
            assert (await client.get("/stations/v1/x", headers=auth("admin"))).status_code == 503
        opened = await client.get("/stations/v1/x", headers=auth("admin"))
    assert "circuit open" in opened.json()["detail"]


async def test_absurdly_nested_json_is_refused_before_forwarding(settings_for, auth):
    app = create_app(settings_for("gateway", service_urls=DOWN))
    nested = b"[" * 5000 + b"]" * 5000
    async with running(fastapi_of(app), asgi=app) as client:
        answer = await client.post(
            "/claims/v1/settlements",
            content=nested,
            headers={**auth("admin"), "Content-Type": "application/json"},
        )
    assert answer.status_code == 422  # not the 503 forwarding to a dead upstream would give
    assert answer.json()["errors"][0]["field"] == "body"
