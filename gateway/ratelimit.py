"""Per-client token buckets.

In memory, so the limit is per gateway process; with several replicas each enforces its share
(the deploy notes say how to size it, or move the buckets to Redis).
"""

from __future__ import annotations

import math
import time


class TokenBuckets:
    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 if the request may go on, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return 0.0
        self._store(key, tokens, now)
        return (1.0 - tokens) / self.rate

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


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
