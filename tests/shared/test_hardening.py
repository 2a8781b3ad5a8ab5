"""What every service does whatever the route: header limits (431), responses never stored nor
sniffed, metrics only on the internal listener."""

import httpx
import pytest

from shared.topology import SERVICES

PUBLIC_PATHS = {
    "enrollment": "/enrollment/v1/persons?limit=1",
    "claims": "/claims/v1/policies",
    "stations": "/stations/v1/service-items",
    "childcare": "/childcare/v1/institutions?limit=1",
}


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize("name", [s.name for s in SERVICES])
async def test_a_one_megabyte_header_is_431_problem(service_apps, auth, name):
    async with _client(service_apps[name]) as client:
        path = PUBLIC_PATHS[name]
        big = await client.get(path, headers={**auth("admin"), "X-Padding": "a" * 1_000_000})
        assert big.status_code == 431
        assert big.headers["content-type"] == "application/problem+json"
        assert big.json()["title"] == "Request header fields too large"
        assert big.headers["x-request-id"]
        many = {f"X-Extra-{i}": "1" for i in range(200)}
        assert (await client.get(path, headers={**auth("admin"), **many})).status_code == 431
        assert (await client.get(path, headers=auth("admin"))).status_code == 200


@pytest.mark.parametrize("name", [s.name for s in SERVICES])
async def test_every_response_is_not_stored_and_not_sniffed(service_apps, auth, name):
    async with _client(service_apps[name]) as client:
        for response in (
            await client.get(PUBLIC_PATHS[name], headers=auth("admin")),
            await client.get(PUBLIC_PATHS[name], headers={"Authorization": "Bearer x"}),
            await client.get("/healthz"),
            await client.get(f"/{name}/v1/no/such/thing"),
        ):
            assert response.headers["cache-control"] == "no-store", response.request.url
            assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
async def test_metrics_are_served_on_the_internal_port_alone(service_apps, auth, spec):
    async with _client(service_apps[spec.name]) as client:
        for headers in ({}, {"X-Forwarded-For": "203.0.113.7"}):
            response = await client.get("/metrics", headers=headers)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert "yibao_" not in response.text
    internal = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service_apps[spec.name]),
        base_url=f"http://{spec.name}:{spec.internal_port}",
    )
    async with internal:
        assert (await internal.get("/metrics")).status_code == 200
        assert (await internal.get("/healthz")).status_code == 200
        # The API is not served there: the internal port is for scrapers, not callers.
        refused = await internal.get(PUBLIC_PATHS[spec.name], headers=auth("admin"))
        assert refused.status_code == 404


async def test_scrapes_on_the_internal_port_are_counted_not_logged(settings_for):
    import logging

    from services.childcare.app import create_app
    from tests.conftest import running

    lines: list[str] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    app = create_app(settings_for("childcare", access_log=True, internal_port=9104))
    kept = Kept()
    access = logging.getLogger("yibao.access")
    access.addHandler(kept)
    access.setLevel(logging.INFO)
    try:
        async with running(app) as public:
            internal = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://childcare:9104"
            )
            async with internal:
                assert (await internal.get("/metrics")).status_code == 200
                assert (await internal.get("/childcare/v1/institutions")).status_code == 404
            assert (await public.get("/healthz")).status_code == 200
    finally:
        access.removeHandler(kept)
        access.setLevel(logging.NOTSET)
    assert lines == ["GET /childcare/v1/institutions 404", "GET /healthz 200"]
