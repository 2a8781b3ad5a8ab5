"""The typed client of the claims drug catalog, against a mock transport."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from services.stations.clients.claims import ClaimsClient, Drug
from shared.errors import UpstreamUnavailable
from shared.http import CircuitBreaker, Upstream


class Catalog:
    """A fake claims service: a few drugs, a switch to fail, and a count of calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False
        self.lookups = 0
        self.drugs = {
            "XA0001": {"code": "XA0001", "generic_name": "氨氯地平片", "payment_standard": "1.50",
                       "catalog_class": "A"},
            "TB00001": {"code": "TB00001", "generic_name": "阿莫西林胶囊",
                        "payment_standard": None},
        }  # fmt: skip

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path.startswith("/claims/v1/catalog/drugs/")
        if self.down:
            return httpx.Response(503, json={"title": "down"})
        if request.url.path.endswith("/lookup"):
            codes = json.loads(request.content)["codes"]
            self.calls.extend(codes)
            self.lookups += 1
            found = [self.drugs[c] for c in codes if c in self.drugs]
            return httpx.Response(
                200, json={"found": found, "missing": [c for c in codes if c not in self.drugs]}
            )
        code = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(code)
        if code in self.drugs:
            return httpx.Response(200, json=self.drugs[code])
        return httpx.Response(404, json={"title": "Not found", "status": 404})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(catalog: Catalog, clock: Clock):
    service = Upstream(
        "claims",
        "http://claims",
        retries=0,
        breaker=CircuitBreaker("claims", threshold=100),
        transport=httpx.MockTransport(catalog.handler),
    )
    yield ClaimsClient(service, ttl_seconds=300, missing_ttl_seconds=60, clock=clock)
    await service.aclose()


async def test_reads_a_drug_and_caches_it(client, catalog, clock):
    drug = await client.get_drug("XA0001")
    assert drug == Drug("XA0001", "氨氯地平片", Decimal("1.50"))
    assert await client.get_drug("XA0001") == drug
    assert catalog.calls == ["XA0001"]
    clock.now += 301
    await client.get_drug("XA0001")
    assert catalog.calls == ["XA0001", "XA0001"]


async def test_unknown_is_none_and_remembered_for_less_long(client, catalog, clock):
    assert await client.get_drug("NOPE1") is None
    assert await client.get_drug("NOPE1") is None
    assert catalog.calls == ["NOPE1"]
    clock.now += 61
    assert await client.get_drug("NOPE1") is None
    assert catalog.calls == ["NOPE1", "NOPE1"]


async def test_drug_without_payment_standard(client):
    drug = await client.get_drug("TB00001")
    assert drug is not None and drug.payment_standard is None


async def test_many_codes_at_once_fetch_only_what_is_not_cached(client, catalog):
    await client.get_drug("XA0001")
    found = await client.get_drugs(["XA0001", "TB00001", "NOPE2", "TB00001"])
    assert set(found) == {"XA0001", "TB00001"}
    assert sorted(catalog.calls) == ["NOPE2", "TB00001", "XA0001"]
    assert catalog.lookups == 1  # the uncached codes went in one call, not one call each


async def test_upstream_down_is_503_not_unknown(client, catalog):
    catalog.down = True
    with pytest.raises(UpstreamUnavailable):
        await client.get_drug("XA0001")
    with pytest.raises(UpstreamUnavailable):
        await client.get_drugs(["XA0001", "TB00001"])
    catalog.down = False
    assert await client.get_drug("XA0001") is not None


async def test_unreadable_answer_is_503(catalog, clock):
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"generic_name": "no code"})

    service = Upstream("claims", "http://claims", retries=0,
                            transport=httpx.MockTransport(broken))  # fmt: skip
    try:
        with pytest.raises(UpstreamUnavailable):
            await ClaimsClient(service, clock=clock).get_drug("XA0001")
    finally:
        await service.aclose()


async def test_against_the_claims_service_in_process(service_apps):
    """The real route, in-process: a code no catalog holds is unknown, not an error."""
    client = ClaimsClient(service_apps["stations"].state.clients["claims"])
    assert await client.get_drug("ZZNOTADRUG9") is None
    assert await client.get_drugs(["ZZNOTADRUG8", "ZZNOTADRUG9"]) == {}
