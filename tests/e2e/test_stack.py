"""End to end: the gateway and the four services as real processes."""

import asyncio
import time

import httpx
import pytest

from cli.stack import create_clients
from shared.auth import ClientKind
from shared.topology import ALL_PROCESSES, SERVICES
from tests.e2e.conftest import issue_token

pytestmark = pytest.mark.xdist_group("e2e")


def gateway_client(live) -> httpx.Client:
    return httpx.Client(base_url=live.url("gateway"), timeout=10.0)


def test_ready_and_the_merged_document_holds_every_service(live):
    with gateway_client(live) as gw:
        ready = gw.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert set(checks) == {"database", "revocations", *(s.name for s in SERVICES)}
        assert checks["revocations"] == "ok"
    # Each service reads the disabled clients from the gateway, on its first refresh after the
    # gateway is up (they start together).
    refresh = float(live.extra_env["YIBAO_REVOCATION_REFRESH_SECONDS"])
    deadline = time.monotonic() + refresh + 2.0
    waiting = {spec.name for spec in SERVICES}
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            ready = httpx.get(live.url(name) + "/readyz").json()
            if ready["checks"]["revocations"] == "ok":
                waiting.discard(name)
        time.sleep(0.1)
    assert not waiting
    with gateway_client(live) as gw:
        paths = gw.get("/openapi.json").json()["paths"]
        for spec in SERVICES:
            assert any(p.startswith(f"/{spec.name}/v1/") for p in paths), spec.name
        assert "/auth/token" in paths
        docs = gw.get("/docs")
        assert "text/html" in docs.headers["content-type"]
        assert "cdn" not in docs.text  # assets served locally: the page works offline
        assert gw.get("/docs/static/swagger-ui-bundle.js").status_code == 200


def test_unknown_path_missing_and_forged_tokens(live):
    with gateway_client(live) as gw:
        unknown = gw.get("/no/such/thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert gw.get("/enrollment/v1/persons").status_code == 401
        forged = gw.get(
            "/enrollment/v1/persons", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
        )
        assert forged.status_code == 401
        assert forged.json()["title"] == "Unauthorized"


def test_issued_token_works_through_the_gateway_and_request_id_reaches_the_logs(
    live, database, sensitive
):
    created = asyncio.run(create_clients(database, ((ClientKind.admin, None, "e2e admin"),)))[0]
    token = issue_token(live.url("gateway"), created)
    sensitive.update((created["client_secret"], token))  # never in a log line
    with gateway_client(live) as gw:
        request_id = f"e2e-{time.time_ns()}"
        response = gw.get(
            "/enrollment/v1/persons?limit=1",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == request_id
    # The access line is written once the response is out: give it a moment to land.
    deadline = time.monotonic() + 5
    missing = {"gateway", "enrollment"}
    while missing and time.monotonic() < deadline:
        missing = {n for n in missing if request_id not in (live.log_dir / f"{n}.log").read_text()}
        time.sleep(0.05)
    assert not missing


def test_a_stopped_service_is_503_the_others_answer_and_it_comes_back(live):
    with gateway_client(live) as gw:
        live.stop("stations")
        try:
            started = time.monotonic()
            down = gw.get("/stations/v1/service-items")
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert time.monotonic() - started < 3.0  # within the gateway's upstream timeout
            assert gw.get("/claims/v1/policies").status_code == 200
            # Still ready (one service down must not take the gateway out of its load
            # balancer, nor claims, which calls stations), but saying which check failed.
            for url in (live.url("gateway"), live.url("claims")):
                ready = httpx.get(f"{url}/readyz", timeout=5.0)
                assert ready.status_code == 200, ready.text
                assert ready.json()["status"] == "degraded"
                assert ready.json()["checks"]["stations"] != "ok"
        finally:
            live.start("stations")
            live.wait_healthy("stations")
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            status = gw.get("/stations/v1/service-items").status_code
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200


def test_every_process_serves_prometheus_metrics(live):
    from prometheus_client.parser import text_string_to_metric_families

    with gateway_client(live) as gw:
        assert gw.get("/enrollment/healthz").status_code == 200
        assert gw.get("/healthz").status_code == 200
    for spec in ALL_PROCESSES:
        response = httpx.get(live.internal_url(spec.name) + "/metrics", timeout=10.0)
        assert response.status_code == 200, spec.name
        assert response.headers["content-type"].startswith("text/plain; version=")
        families = {f.name: f for f in text_string_to_metric_families(response.text)}
        for name in (
            "yibao_http_requests",
            "yibao_http_request_duration_seconds",
            "yibao_db_pool_connections",
            "yibao_upstream_request_duration_seconds",
            "yibao_circuit_breaker_state",
        ):
            assert name in families, (spec.name, name)
        pools = {s.labels["pool"] for s in families["yibao_db_pool_connections"].samples}
        assert "primary" in pools, spec.name
        if spec.name == "gateway":
            routes = {
                s.labels["route"]: s.value
                for s in families["yibao_http_requests"].samples
                if s.name == "yibao_http_requests_total"
            }
            assert routes.get("/enrollment/{path}", 0) >= 1
            assert routes.get("/healthz", 0) >= 1
            upstreams = {
                s.labels["upstream"]
                for s in families["yibao_upstream_request_duration_seconds"].samples
            }
            assert "enrollment" in upstreams
            states = families["yibao_circuit_breaker_state"].samples
            assert {s.labels["upstream"] for s in states} == {s.name for s in SERVICES}
            # Exactly one state is current per breaker.
            assert sum(s.value for s in states) == len(SERVICES)
