"""Keeps a process's :class:`StationIndex` in step with the ``stations`` table.

Freshness, as the nearby search documents it: a station written through this process is in its
next search; one written by another process (or straight into the database) within
``refresh_seconds``, when the next search after that looks for rows with a higher id; a changed
or removed station within ``full_reload_seconds``, when the index is rebuilt. Stations are only
ever added through the API, so the incremental look is by id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.stations.domain.station_index import IndexedStation, StationIndex
from services.stations.repository import fetch_rows
from shared.db import Database

_LOAD = (
    "select s.id, s.lat, s.lon, s.name, s.station_type, s.level, s.region_code, "
    "s.opening_hours, s.phone, "
    "coalesce(array_agg(si.item_code) filter (where si.item_code is not null), '{}') "
    "from stations s left join station_items si on si.station_id = s.id "
    "where s.id > $1 group by s.id"
)
_ITEMS = "select code from service_items"


class StationCache:
    def __init__(
        self,
        database: Database,
        *,
        refresh_seconds: float = 5.0,
        full_reload_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.refresh_seconds = refresh_seconds
        self.full_reload_seconds = full_reload_seconds
        self.clock = clock
        self.index: StationIndex | None = None
        self.item_codes: frozenset[str] = frozenset()
        self._last_id = 0
        self._built_at = 0.0
        self._checked_at = 0.0
        self._stale = True
        self._refreshing: asyncio.Task[None] | None = None
        self._item_sets: dict[tuple[str, ...], frozenset[str]] = {}

    def invalidate(self) -> None:
        """A station was written through this process: look for it before the next search."""
        self._stale = True

    def _due(self) -> bool:
        now = self.clock()
        return (
            self.index is None
            or self._stale
            or now - self._checked_at >= self.refresh_seconds
            or now - self._built_at >= self.full_reload_seconds
        )

    async def current(self) -> StationIndex:
        """The index, refreshed first when due; a fresh one costs no database round trip.

        The refresh runs in a task of its own, which every request that finds it due waits for:
        one request cancelled at its deadline does not take with it a reload (a full one reads
        every station) that the next request would have to start over."""
        if self._due():
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.create_task(self._reload(), name="station index")
                # Its failure is answered to those waiting; none may be left to hear it.
                self._refreshing.add_done_callback(lambda t: t.cancelled() or t.exception())
            await asyncio.shield(self._refreshing)
        assert self.index is not None
        return self.index

    async def _reload(self) -> None:
        async with self.database.read_sessions() as session:
            await self._refresh(session)

    async def _refresh(self, session: AsyncSession) -> None:
        now = self.clock()
        full = self.index is None or now - self._built_at >= self.full_reload_seconds
        index = StationIndex() if full else self.index
        assert index is not None
        after = 0 if full else self._last_id
        self._stale = False  # before the read: a write during it marks the cache stale again
        rows = await fetch_rows(session, _LOAD, after)
        index.put(self._station(row) for row in rows)
        self.item_codes = frozenset(r[0] for r in await fetch_rows(session, _ITEMS))
        top = max((int(r[0]) for r in rows), default=0)
        self._last_id = top if full else max(self._last_id, top)
        if full:
            self._built_at = now
        self._checked_at = now
        self.index = index

    def _station(self, row: Sequence[Any]) -> IndexedStation:
        codes = tuple(sorted(row[9]))
        items = self._item_sets.setdefault(codes, frozenset(codes))
        return IndexedStation(
            int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], items
        )
