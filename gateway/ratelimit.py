"""Token buckets per client and per caller address, and what they tell the caller.

In memory, so the limit is per gateway process; with several replicas each enforces its share
(the deploy notes say how to size it, or move the buckets to Redis).

Every call the gateway answers carries its bucket's state in the RateLimit header fields of the
IETF httpapi draft (``RateLimit-Limit``: the burst; ``RateLimit-Remaining``: the calls left now;
``RateLimit-Reset``: seconds until the bucket is full again, all integers), and a refusal
``Retry-After``: seconds until the next call would pass.
"""

from __future__ import annotations

import math
import time
from ipaddress import ip_network


def address_key(address: str) -> str:
    """The bucket of a caller's address: an IPv6 caller is counted by its /64, the block one
    subscriber is given (and can pick any address from); an IPv4 caller by its address."""
    if ":" not in address:
        return address
    try:
        return str(ip_network(f"{address}/64", strict=False))
    except ValueError:
        return address


class Quota:
    """One bucket's state after a call was counted against it (or would have been)."""

    __slots__ = ("limit", "rate", "tokens", "wait")

    def __init__(self, limit: int, rate: float, tokens: float, wait: float) -> None:
        self.limit = limit
        self.rate = rate
        self.tokens = tokens
        self.wait = wait
        """0.0 if the call may go on, else the seconds before one would."""

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The header fields as ASGI sends them (on every admitted call: kept cheap)."""
        missing = self.limit - self.tokens
        headers = [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.tokens),
            (b"ratelimit-reset", b"%d" % (math.ceil(missing / self.rate) if missing > 0 else 0)),
        ]
        if self.wait:
            headers.append((b"retry-after", b"%d" % max(1, math.ceil(self.wait))))
        return headers

    def headers(self) -> dict[str, str]:
        return {name.decode(): value.decode() for name, value in self.raw_headers()}


class TokenBuckets:
    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def standing(self, key: str, now: float | None = None) -> Quota:
        """The bucket as it stands, for a call it does not count (and so never refuses)."""
        tokens = self._tokens(key, time.monotonic() if now is None else now)
        return Quota(self.burst, self.rate, tokens, 0.0)

    def peek(self, key: str, now: float | None = None) -> Quota:
        """What :meth:`take` would answer, counting nothing."""
        tokens = self._tokens(key, time.monotonic() if now is None else now)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
        return Quota(self.burst, self.rate, tokens, wait)

    def take(self, key: str, now: float | None = None) -> Quota:
        """Counts one call; the quota's ``wait`` says whether it may go on."""
        now = time.monotonic() if now is None else now
        tokens = self._tokens(key, now)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return Quota(self.burst, self.rate, tokens - 1.0, 0.0)
        self._store(key, tokens, now)
        return Quota(self.burst, self.rate, tokens, (1.0 - tokens) / self.rate)

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            # A bucket that has refilled carries no state worth keeping: drop those.
            full = [
                k
                for k, (t, last) in self._buckets.items()
                if t + (now - last) * self.rate >= self.burst
            ]
            for stale in full:
                del self._buckets[stale]
            if len(self._buckets) >= self.max_keys:
                # Still full of active clients: forget the oldest rather than grow unbounded.
                del self._buckets[next(iter(self._buckets))]
        self._buckets[key] = (tokens, now)
