"""Pagination cursors, the circuit breaker, rate-limit buckets, the regions list."""

import time

import pytest

from gateway.ratelimit import TokenBuckets, address_key
from shared import regions
from shared.errors import ProblemError
from shared.http import BreakerState, CircuitBreaker
from shared.money import round_money
from shared.pagination import decode_cursor, encode_cursor, id_key, paging


def test_cursor_round_trip_and_garbage_is_a_422():
    assert decode_cursor(encode_cursor([42, "x"])) == [42, "x"]
    by_id = paging(id_key)
    assert by_id(limit=5, cursor=encode_cursor(42)).after == 42
    for garbage in ("%%%", "Mw===", "bm90IGpzb24"):  # not base64url; padded; not JSON
        with pytest.raises(ProblemError) as caught:
            by_id(limit=5, cursor=garbage)
        assert caught.value.status == 422
        assert caught.value.errors == [
            {"field": "query.cursor", "message": "the cursor is not one this list gave out"}
        ]


def test_breaker_opens_after_threshold_then_half_opens_one_probe():
    breaker = CircuitBreaker("x", threshold=3, reset_seconds=0.05)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.closed and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.open and not breaker.allow()
    time.sleep(0.06)
    assert breaker.state is BreakerState.half_open
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.closed and breaker.allow()


def test_failed_probe_reopens():
    breaker = CircuitBreaker("x", threshold=1, reset_seconds=0.05)
    breaker.record_failure()
    time.sleep(0.06)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.open


def test_token_bucket_allows_burst_then_says_how_long_to_wait():
    buckets = TokenBuckets(rate=2.0, burst=3)
    taken = [buckets.take("a", now=0.0) for _ in range(3)]
    assert [q.wait for q in taken] == [0.0, 0.0, 0.0]
    assert [q.headers()["ratelimit-remaining"] for q in taken] == ["2", "1", "0"]
    assert taken[0].headers() == {
        "ratelimit-limit": "3",
        "ratelimit-remaining": "2",
        "ratelimit-reset": "1",  # one call back in 0.5 s, rounded up
    }
    assert buckets.peek("a", now=0.0).wait == pytest.approx(0.5)
    refused = buckets.take("a", now=0.0)
    assert refused.wait == pytest.approx(0.5)
    assert refused.headers()["retry-after"] == "1"
    assert refused.headers()["ratelimit-reset"] == "2"  # three calls back, 0.5 s each
    assert buckets.take("b", now=0.0).wait == 0.0  # per client
    assert buckets.peek("a", now=0.5).wait == 0.0  # refilled, and peeking counts nothing
    assert buckets.take("a", now=0.5).headers()["ratelimit-remaining"] == "0"


def test_an_ipv6_caller_is_counted_by_its_64_block():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("198.51.100.7") == "198.51.100.7"
    assert address_key("unknown") == "unknown"


def test_regions_reference_list():
    counties = regions.counties()
    assert len(counties) == 7 and all(c.code.startswith(regions.CITY_CODE) for c in counties)
    townships = regions.townships()
    assert len({t.code for t in townships}) == len(townships)
    assert all(regions.region(t.parent or "") is not None for t in townships)
    assert regions.is_in_city("371602001001") and not regions.is_in_city("370304")
    assert regions.is_known_in_city("371602001") and not regions.is_known_in_city("371699")


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("0.005", "0.01"), ("0.004", "0.00"), ("-0.005", "-0.01"), ("2.675", "2.68")],
)
def test_money_rounds_half_up(value, rounded):
    from decimal import Decimal

    assert round_money(Decimal(value)) == Decimal(rounded)


def test_ttl_cache_expires_and_stays_bounded():
    from shared.cache import TTLCache

    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(ttl_seconds=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # over the bound: the oldest goes
    assert cache.get("a") is None and cache.get("c") == 3
    now[0] = 10.0
    assert cache.get("b") is None and cache.get("c") is None


def test_role_urls_quote_passwords_and_keep_socket_hosts():
    from shared.db import with_user

    assert with_user("postgresql://admin@db:5432/yibao", "yibao_claims", "p@ss:/w") == (
        "postgresql://yibao_claims:p%40ss%3A%2Fw@db:5432/yibao"
    )
    assert with_user("postgresql://postgres@/yibao?host=/tmp/pg", "yibao_claims") == (
        "postgresql://yibao_claims@/yibao?host=/tmp/pg"
    )
