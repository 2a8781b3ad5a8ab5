"""End to end, as an attacker would probe it: real processes, real uvicorn, real sockets."""

import asyncio
import time

import httpx
import pytest

from cli.processes import Supervisor, free_port_block
from cli.stack import create_clients
from shared.auth import ClientKind
from shared.topology import ALL_PROCESSES, GATEWAY, SERVICES
from tests.e2e.conftest import issue_token

pytestmark = pytest.mark.xdist_group("e2e")

# A route of each service that needs a token (an admin's here).
NEEDS_A_TOKEN = {
    "enrollment": "/enrollment/v1/persons?limit=1",
    "claims": "/claims/v1/audit/flags?limit=1",
    "stations": "/stations/v1/pharmacies/P37160200007/inventory?limit=1",
    "childcare": "/childcare/v1/institutions?limit=1",
}


@pytest.fixture(scope="module")
def strict_gateway(live):
    """A second gateway in front of the same services, with a small anonymous allowance."""
    port = free_port_block(2)
    supervisor = Supervisor(
        live.boot,
        live.keys,
        ports={**live.ports, GATEWAY.name: port},
        internal_ports={**live.internal_ports, GATEWAY.name: port + 1},
        log_dir=live.log_dir / "strict",
        extra_env={
            "YIBAO_RATE_LIMIT_ANONYMOUS_BURST": "3",
            "YIBAO_RATE_LIMIT_ANONYMOUS_PER_SECOND": "0.05",
        },
    )
    supervisor.start(GATEWAY.name)
    try:
        supervisor.wait_healthy(GATEWAY.name)
        yield supervisor
    finally:
        supervisor.stop_all()


def _admin(database, sensitive: set[str], name: str) -> dict:
    created: dict = asyncio.run(create_clients(database, ((ClientKind.admin, None, name),)))[0]
    sensitive.add(created["client_secret"])
    return created


def _token(gateway: str, client: dict, sensitive: set[str]) -> str:
    token = issue_token(gateway, client)
    sensitive.add(token)
    return token


def test_rotating_x_forwarded_for_from_an_untrusted_address_still_meets_429(
    strict_gateway, sensitive
):
    url = strict_gateway.url(GATEWAY.name)
    sensitive.add("not-the-secret-at-all")
    statuses = [
        httpx.post(
            f"{url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "admin-000000000000",
                "client_secret": "not-the-secret-at-all",
            },
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        ).status_code
        for i in range(1, 11)
    ]
    # Three guesses (the burst), then refused however the header is rotated.
    assert statuses[:3] == [401, 401, 401], statuses
    assert set(statuses[3:]) == {429}, statuses


def test_a_disabled_clients_token_is_refused_at_every_service_port(live, database, sensitive):
    gateway = live.url(GATEWAY.name)
    client = _admin(database, sensitive, "e2e soon disabled")
    operator = _admin(database, sensitive, "e2e operator")
    headers = {"Authorization": f"Bearer {_token(gateway, client, sensitive)}"}
    for spec in SERVICES:
        response = httpx.get(live.url(spec.name) + NEEDS_A_TOKEN[spec.name], headers=headers)
        assert response.status_code != 401, (spec.name, response.text)
    disabled = httpx.post(
        f"{gateway}/auth/clients/{client['client_id']}/disable",
        headers={"Authorization": f"Bearer {_token(gateway, operator, sensitive)}"},
    )
    assert disabled.status_code == 200, disabled.text
    refresh = float(live.extra_env["YIBAO_REVOCATION_REFRESH_SECONDS"])
    # One refresh, and slack for a loaded machine (the refresh itself is a few milliseconds).
    deadline = time.monotonic() + refresh + 4.0
    waiting = {spec.name for spec in SERVICES}
    while waiting and time.monotonic() < deadline:
        for name in sorted(waiting):
            response = httpx.get(live.url(name) + NEEDS_A_TOKEN[name], headers=headers)
            if response.status_code == 401:
                assert "disabled" in response.json()["detail"]
                waiting.discard(name)
        time.sleep(0.05)
    assert not waiting, f"still accepted by {sorted(waiting)}"
    assert httpx.get(f"{gateway}/enrollment/v1/persons", headers=headers).status_code == 401


def test_metrics_are_never_answered_on_a_public_port(live):
    for spec in ALL_PROCESSES:
        for headers in ({}, {"X-Forwarded-For": "203.0.113.7"}):
            response = httpx.get(live.url(spec.name) + "/metrics", headers=headers)
            assert response.status_code == 404, (spec.name, headers)
            assert "yibao_" not in response.text


def test_a_one_megabyte_header_is_431_at_every_port(live):
    for spec in ALL_PROCESSES:
        response = httpx.get(
            live.url(spec.name) + "/healthz", headers={"X-Padding": "a" * 1_000_000}, timeout=10
        )
        assert response.status_code == 431, spec.name
        assert response.headers["content-type"] == "application/problem+json"


def test_no_server_banner_and_nothing_stored_or_sniffed(live):
    with httpx.Client(base_url=live.url(GATEWAY.name)) as gw:
        forwarded = gw.get("/stations/v1/service-items")
        assert forwarded.status_code == 200
        assert forwarded.headers.get_list("cache-control") == ["no-store"]
    for response in (
        forwarded,
        *(httpx.get(live.url(spec.name) + "/healthz") for spec in ALL_PROCESSES),
    ):
        assert "server" not in response.headers, response.headers
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_id_numbers_travel_in_bodies_paths_and_request_ids(live, database, sensitive):
    import random
    from datetime import date

    from shared.validators import make_id_number

    gateway = live.url(GATEWAY.name)
    admin = _admin(database, sensitive, "e2e enrolment")
    headers = {"Authorization": f"Bearer {_token(gateway, admin, sensitive)}"}
    with httpx.Client(base_url=gateway, headers=headers) as gw:
        for _ in range(5):
            id_number = make_id_number(
                "371602", date(1950 + random.randrange(50), 3, 9), random.randrange(1000)
            )
            created = gw.post(
                "/enrollment/v1/persons",
                json={"id_number": id_number, "name": "日志", "region_code": "371602001"},
                headers={"X-Request-ID": id_number},
            )
            if created.status_code == 201:
                break
        assert created.status_code == 201, created.text
        sensitive.add(id_number)
        assert created.json()["id_number"] == id_number
        found = gw.get("/enrollment/v1/persons", params={"id_number": id_number})
        assert [p["person_id"] for p in found.json()["items"]] == [created.json()["person_id"]]
        assert gw.get(f"/enrollment/v1/persons/{id_number}").status_code == 404
        assert gw.get(f"/childcare/v1/bans/{id_number}").status_code == 404
