"""Readiness follows the process's own database, not the services it calls."""

from services.childcare.app import create_app as create_childcare
from services.claims.app import create_app as create_claims
from tests.conftest import running

NOWHERE = "postgresql://nobody@127.0.0.1:9/none"  # nothing listens on port 9


async def test_without_its_database_a_process_is_not_ready(settings_for):
    app = create_childcare(settings_for("childcare", database_url=NOWHERE))
    async with running(app) as client:
        assert (await client.get("/healthz")).status_code == 200  # alive all the same
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"]["database"].startswith("failed")


async def test_a_missing_upstream_degrades_but_keeps_the_process_ready(settings_for):
    down = {name: "http://127.0.0.1:9" for name in ("enrollment", "stations")}
    app = create_claims(settings_for("claims", service_urls=down))
    async with running(app) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["enrollment"].startswith("failed")
