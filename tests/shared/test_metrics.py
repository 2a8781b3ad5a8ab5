"""Prometheus metrics: route templates, statuses, upstream calls, breakers and pools."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.errors import UpstreamUnavailable
from shared.http import CircuitBreaker, Upstream
from shared.metrics import Metrics
from shared.topology import service


async def scrape(service_apps, name: str) -> httpx.Response:
    """``/metrics`` as Prometheus reads it: on the service's internal port."""
    transport = httpx.ASGITransport(app=service_apps[name])
    base_url = f"http://{name}:{service(name).internal_port}"
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        return await client.get("/metrics")


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a Prometheus text exposition; fails if the text is not in that format."""
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float | None:
    for sample_name, sample_labels, sample_value in samples(text):
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items()):
            return sample_value
    return None


async def test_requests_are_counted_by_route_template_and_status(service_apps, enrollment, auth):
    headers = auth("admin")
    for person_id in (987654321, 987654322):
        missing = await enrollment.get(f"/enrollment/v1/persons/{person_id}", headers=headers)
        assert missing.status_code == 404
    await enrollment.get("/no/such/path")

    response = await scrape(service_apps, "enrollment")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    route = "/enrollment/v1/persons/{person_id}"
    count = value(text, "yibao_http_requests_total", method="GET", route=route, status="404")
    assert count is not None and count >= 2
    assert (
        value(
            text,
            "yibao_http_request_duration_seconds_count",
            method="GET",
            route=route,
            status="404",
        )
        == count
    )
    # Raw paths never become labels: one unmatched series, not one per path.
    assert value(text, "yibao_http_requests_total", route="unmatched", status="404") is not None
    assert "987654321" not in text
    # The database pool is reported, with its ceiling.
    assert value(text, "yibao_db_pool_connections", pool="primary", state="max") == 20
    assert value(text, "yibao_db_pool_connections", pool="hot_path", state="max") is not None
    assert value(text, "process_resident_memory_bytes") is not None


async def test_a_service_reports_its_upstream_calls_and_breakers(service_apps, stations):
    # Calls to other services go through the app's clients, which report to its metrics.
    claims_client = service_apps["stations"].state.clients["claims"]
    assert (await claims_client.get("/claims/healthz")).status_code == 200
    text = (await scrape(service_apps, "stations")).text
    assert value(text, "yibao_upstream_request_duration_seconds_count", upstream="claims") >= 1
    assert value(text, "yibao_circuit_breaker_state", upstream="claims", state="closed") == 1
    assert value(text, "yibao_circuit_breaker_state", upstream="claims", state="open") == 0


async def test_upstream_outcomes_and_an_open_breaker():
    metrics = Metrics("test")
    client = Upstream(
        "down",
        "http://down",
        retries=0,
        breaker=CircuitBreaker("down", threshold=1, reset_seconds=60),
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
        metrics=metrics,
    )
    with pytest.raises(UpstreamUnavailable):
        await client.get("/x")
    failing = Upstream(
        "gone",
        "http://gone",
        retries=0,
        breaker=CircuitBreaker("gone", threshold=1, reset_seconds=60),
        transport=httpx.MockTransport(_refuse),
        metrics=metrics,
    )
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await failing.get("/x")
    text = metrics.render().decode()
    assert value(text, "yibao_upstream_request_duration_seconds_count", outcome="5xx") == 1
    count = "yibao_upstream_request_duration_seconds_count"
    assert value(text, count, upstream="gone", outcome="unavailable") == 1
    assert value(text, count, upstream="gone", outcome="circuit_open") == 1
    assert value(text, "yibao_circuit_breaker_state", upstream="gone", state="open") == 1
    # A 5xx answer is the service answering: its breaker stays closed.
    assert value(text, "yibao_circuit_breaker_state", upstream="down", state="closed") == 1


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)
