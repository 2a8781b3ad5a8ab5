"""A small in-process cache with a time to live, for reference data read from other services
(institutions, catalog entries) that changes rarely and is read on hot paths."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """``(hit, value)``: tells a cached ``None`` (e.g. "known to be unknown") from a miss."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires, value = entry
        if expires <= self.clock():
            self._entries.pop(key, None)
            return False, None
        return True, value

    def get(self, key: K) -> V | None:
        return self.lookup(key)[1]

    def put(self, key: K, value: V, ttl_seconds: float | None = None) -> None:
        """Kept for ``ttl_seconds``, or the cache's own time to live."""
        ttl = self.ttl if ttl_seconds is None else ttl_seconds
        self._entries[key] = (self.clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
