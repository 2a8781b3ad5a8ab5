"""Admission at the gateway: who the caller is (trusted proxies), rate limits taken before any
token is verified, the RateLimit headers, and the hardening every response gets."""

import asyncio
import time
from collections import Counter

import httpx
import pytest

from gateway.app import create_app, fastapi_of
from tests.conftest import running

DOWN = {n: "http://127.0.0.1:9" for n in ("enrollment", "claims", "stations", "childcare")}


class StandIn:
    """A service that answers every request (bodies aside) 200 with ``{}``, keeping the heads."""

    def __init__(self) -> None:
        self.heads: list[str] = []
        self.url = ""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head.decode("latin-1").lower())
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: 2\r\n\r\n{}"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def upstream():
    stand_in = StandIn()
    server = await asyncio.start_server(stand_in, "127.0.0.1", 0, limit=4 * 2**20)
    stand_in.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield stand_in
    finally:
        server.close()


@pytest.fixture
def upstream_ok(upstream):
    return upstream.url


def _client(app, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


# --- who is calling --------------------------------------------------------------------------

PROXY = "10.0.0.0/8"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "caller"),
    [
        # Nothing trusted: the header is the caller's to write, so it is ignored.
        ("127.0.0.1", ["198.51.100.7"], [], "127.0.0.1"),
        ("10.0.0.5", ["198.51.100.7"], [], "10.0.0.5"),
        # From a trusted proxy: the right-most address it did not write itself.
        ("10.0.0.5", ["198.51.100.7"], [PROXY], "198.51.100.7"),
        ("10.0.0.5", ["6.6.6.6, 198.51.100.7"], [PROXY], "198.51.100.7"),
        ("10.0.0.5", ["6.6.6.6", "198.51.100.7, 10.0.0.9"], [PROXY], "198.51.100.7"),
        ("10.0.0.5", ["2001:db8::7"], [PROXY], "2001:db8::7"),
        ("::1", ["198.51.100.7"], ["::1"], "198.51.100.7"),
        # Not from a trusted proxy: ignored, whatever it says.
        ("203.0.113.9", ["198.51.100.7"], [PROXY], "203.0.113.9"),
        # Nothing but proxies, or no header: the nearest of them.
        ("10.0.0.5", [], [PROXY], "10.0.0.5"),
        ("10.0.0.5", ["10.0.0.8, 10.0.0.9"], [PROXY], "10.0.0.8"),
        # A proxy that wrote something other than an address answers for it itself.
        ("10.0.0.5", ["198.51.100.7, unknown"], [PROXY], "10.0.0.5"),
        ("10.0.0.5", ["198.51.100.7, " + "9" * 100 + ", 10.0.0.9"], [PROXY], "10.0.0.9"),
    ],
)
def test_the_caller_is_the_right_most_untrusted_address(peer, forwarded, trusted, caller):
    from ipaddress import ip_network

    from gateway.forwarded import TrustedProxies

    scope = {
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }
    assert TrustedProxies([ip_network(n) for n in trusted]).caller(scope) == caller
    assert scope["client"] == (caller, 40000)


def test_no_setting_trusts_every_address(settings_for):
    from pydantic import ValidationError

    for everyone in ("0.0.0.0/0", "10.0.0.0/8, ::/0", "*"):
        with pytest.raises(ValidationError):
            settings_for("gateway", trusted_proxies=everyone)
    assert [
        str(n) for n in settings_for("gateway", trusted_proxies="10.1.0.0/16, ::1").trusted_proxies
    ] == ["10.1.0.0/16", "::1/128"]


async def test_behind_a_trusted_proxy_each_caller_has_its_own_allowance(settings_for, upstream):
    app = create_app(
        settings_for(
            "gateway",
            service_urls={**DOWN, "stations": upstream.url},
            trusted_proxies="127.0.0.1",
            rate_limit_anonymous_per_second=0.01,
            rate_limit_anonymous_burst=2,
        )
    )
    async with running(fastapi_of(app), asgi=app), _client(app) as client:

        async def status(*forwarded: str) -> int:
            headers = {"X-Forwarded-For": ", ".join(forwarded)}
            return (await client.get("/stations/v1/service-items", headers=headers)).status_code

        # The caller rotates what it writes; the proxy's entry, on the right, stays its own.
        assert [await status(f"6.6.6.{i}", "198.51.100.7") for i in range(4)] == [
            200,
            200,
            429,
            429,
        ]
        assert await status("198.51.100.8") == 200  # another caller behind the same proxy
        # The services are told who the caller was, not the proxy, nor what it claimed.
        assert "x-forwarded-for: 198.51.100.8\r\n" in upstream.heads[-1]
        assert all("6.6.6." not in head for head in upstream.heads)


async def test_an_ipv6_caller_rotating_within_its_64_meets_429(settings_for, upstream):
    app = create_app(
        settings_for(
            "gateway",
            service_urls={**DOWN, "stations": upstream.url},
            trusted_proxies="127.0.0.1",
            rate_limit_anonymous_per_second=0.01,
            rate_limit_anonymous_burst=2,
        )
    )
    async with running(fastapi_of(app), asgi=app), _client(app) as client:
        statuses = [
            (
                await client.get(
                    "/stations/v1/service-items",
                    headers={"X-Forwarded-For": f"2001:db8:7:7::{i:x}"},
                )
            ).status_code
            for i in range(1, 5)
        ]
        assert statuses == [200, 200, 429, 429]
        other = {"X-Forwarded-For": "2001:db8:7:8::1"}  # the next /64: someone else
        assert (await client.get("/stations/v1/service-items", headers=other)).status_code == 200


async def test_without_trusted_proxies_x_forwarded_for_changes_nothing(settings_for, upstream):
    app = create_app(
        settings_for(
            "gateway",
            service_urls={**DOWN, "stations": upstream.url},
            rate_limit_anonymous_per_second=0.01,
            rate_limit_anonymous_burst=2,
        )
    )
    async with running(fastapi_of(app), asgi=app), _client(app, "192.0.2.1") as client:
        statuses = [
            (
                await client.get(
                    "/stations/v1/service-items", headers={"X-Forwarded-For": f"198.51.100.{i}"}
                )
            ).status_code
            for i in range(4)
        ]
        assert statuses == [200, 200, 429, 429]
        assert "x-forwarded-for: 192.0.2.1\r\n" in upstream.heads[0]


# --- rate limits before verification ---------------------------------------------------------


async def test_300_invalid_tokens_from_one_address_meet_429_without_being_verified(settings_for):
    settings = settings_for("gateway", service_urls=DOWN)  # the default limits: 20/s, burst 60
    app = create_app(settings)
    async with running(fastapi_of(app), asgi=app) as client:
        verifier = fastapi_of(app).state.token_verifier
        verified = 0
        verify = verifier.verify

        def counting(token):
            nonlocal verified
            verified += 1
            return verify(token)

        verifier.verify = counting
        started = time.monotonic()
        statuses = Counter()
        for i in range(300):
            response = await client.get(
                "/enrollment/v1/persons", headers={"Authorization": f"Bearer forged.{i}.token"}
            )
            statuses[response.status_code] += 1
        elapsed = time.monotonic() - started
    assert set(statuses) == {401, 429}, statuses
    allowed = (
        settings.rate_limit_anonymous_burst + elapsed * settings.rate_limit_anonymous_per_second
    )
    assert statuses[401] <= allowed + 1, (statuses, elapsed)
    # Refused before verification: only the tokens let through were ever checked.
    assert verified == statuses[401]


async def test_a_valid_token_is_not_charged_to_its_address(settings_for, auth):
    app = create_app(
        settings_for(
            "gateway",
            service_urls=DOWN,
            rate_limit_anonymous_per_second=0.01,
            rate_limit_anonymous_burst=2,
        )
    )
    admin = auth("admin")
    async with running(fastapi_of(app), asgi=app) as client:
        for _ in range(5):
            assert (await client.get("/auth/clients", headers=admin)).status_code == 200
        # The address's own budget is intact: anonymous calls still pass.
        assert (await client.get("/readyz")).status_code == 200
        bad = {"Authorization": "Bearer nope"}
        assert [(await client.get("/readyz", headers=bad)).status_code for _ in range(3)] == [
            401,
            429,
            429,
        ]
        # An exhausted address refuses new tokens before verifying them, but not the ones it
        # already knows are good.
        assert (await client.get("/auth/clients", headers=auth("admin"))).status_code == 429
        assert (await client.get("/auth/clients", headers=admin)).status_code == 200


# --- RateLimit headers -----------------------------------------------------------------------


def _ratelimit(response: httpx.Response) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(response.headers[f"ratelimit-{part}"]) for part in ("limit", "remaining", "reset")
    )


async def test_successful_responses_carry_the_ratelimit_headers(settings_for, auth, upstream_ok):
    app = create_app(
        settings_for(
            "gateway",
            service_urls={**DOWN, "stations": upstream_ok},
            # Slow refills: the counts below do not move while the test runs.
            rate_limit_per_second=0.01,
            rate_limit_burst=5,
            rate_limit_anonymous_per_second=0.01,
            rate_limit_anonymous_burst=4,
        )
    )
    headers = auth("station", "ratelimit-headers")
    async with running(fastapi_of(app), asgi=app) as client:
        first = await client.get("/stations/v1/service-items", headers=headers)
        assert first.status_code == 200, first.text
        limit, remaining, reset = _ratelimit(first)
        assert (limit, remaining, reset) == (5, 4, 100)  # a token back every 100 s
        second = await client.get("/stations/v1/service-items", headers=headers)
        assert _ratelimit(second)[:2] == (5, 3)
        anonymous = await client.get("/stations/v1/service-items")
        assert anonymous.status_code == 200
        assert _ratelimit(anonymous)[:2] == (4, 3)
        # Liveness and the documents are not counted, but say where the address stands.
        for path in ("/healthz", "/openapi.json", "/stations/healthz"):
            free = await client.get(path)
            assert free.status_code == 200, path
            assert _ratelimit(free)[:2] == (4, 3) and "retry-after" not in free.headers
        own = await client.get("/auth/clients", headers=headers)  # the gateway's own route
        assert own.status_code == 403 and _ratelimit(own)[:2] == (5, 2)
        for _ in range(2):
            await client.get("/stations/v1/service-items", headers=headers)
        limited = await client.get("/stations/v1/service-items", headers=headers)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["retry-after"]) >= 1
        assert _ratelimit(limited)[:2] == (5, 0)


# --- response hardening ----------------------------------------------------------------------


async def test_every_gateway_response_is_not_stored_and_not_sniffed(
    settings_for, auth, upstream_ok
):
    app = create_app(settings_for("gateway", service_urls={**DOWN, "claims": upstream_ok}))
    async with running(fastapi_of(app), asgi=app) as client:
        for response in (
            await client.get("/claims/v1/policies", headers=auth("admin")),  # forwarded
            await client.get("/enrollment/v1/persons", headers=auth("admin")),  # 503
            await client.get("/auth/clients", headers=auth("admin")),  # its own route
            await client.get("/auth/clients"),  # 401
            await client.get("/healthz"),
            await client.get("/no/such/path"),
        ):
            assert response.headers["cache-control"] == "no-store", response.request.url
            assert response.headers["x-content-type-options"] == "nosniff"
            assert len(response.headers.get_list("cache-control")) == 1


async def test_a_one_megabyte_header_is_431_and_not_forwarded(settings_for, auth, upstream_ok):
    app = create_app(settings_for("gateway", service_urls={**DOWN, "claims": upstream_ok}))
    async with running(fastapi_of(app), asgi=app) as client:
        big = await client.get(
            "/claims/v1/policies", headers={**auth("admin"), "X-Padding": "a" * 1_000_000}
        )
        assert big.status_code == 431
        assert big.headers["content-type"] == "application/problem+json"
        assert big.json()["status"] == 431
        many = {f"X-Extra-{i}": "1" for i in range(200)}
        assert (await client.get("/healthz", headers=many)).status_code == 431
        assert (await client.get("/claims/v1/policies", headers=auth("admin"))).status_code == 200


async def test_metrics_are_not_served_on_the_public_port(settings_for):
    app = create_app(settings_for("gateway", service_urls=DOWN))
    async with running(fastapi_of(app), asgi=app) as client:
        for headers in ({}, {"X-Forwarded-For": "203.0.113.7"}):
            response = await client.get("/metrics", headers=headers)
            assert response.status_code == 404, headers
            assert response.headers["content-type"] == "application/problem+json"
            assert "yibao_" not in response.text
