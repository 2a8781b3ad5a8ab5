"""An in-memory grid index of the station network, for the nearby search.

The network changes rarely (a station opens a few times a month) and is read at public-search
rates, so each process keeps the stations (~300 bytes each: 100,000 are ~30 MB) in square
lat/lon cells and answers a bounding box from the cells it overlaps, without a database round
trip. Pure: loading and refreshing it is :mod:`services.stations.station_cache`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from services.stations.domain.geo import Box, Located

DEFAULT_CELL_DEG = 0.02
"""~2 km: a 15-minute walk's box touches 4 cells, a 15-minute drive's about 50."""


@dataclass(frozen=True, slots=True)
class IndexedStation(Located):
    name: str
    station_type: str
    level: str
    region_code: str
    opening_hours: str
    phone: str | None
    items: frozenset[str]


class StationIndex:
    def __init__(self, cell_deg: float = DEFAULT_CELL_DEG) -> None:
        if cell_deg <= 0:
            raise ValueError("cells have a positive size")
        self.cell_deg = cell_deg
        self._cells: dict[tuple[int, int], dict[int | str, IndexedStation]] = {}
        self._where: dict[int | str, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg)

    def put(self, stations: Iterable[IndexedStation]) -> None:
        """Adds stations, replacing any with the same id (wherever it was)."""
        for station in stations:
            old = self._where.get(station.id)
            if old is not None:
                del self._cells[old][station.id]
            cell = self._cell(station.lat, station.lon)
            self._cells.setdefault(cell, {})[station.id] = station
            self._where[station.id] = cell

    def in_box(self, box: Box, item: str | None = None) -> Iterator[IndexedStation]:
        """The stations inside the box that handle ``item`` (any, if None)."""
        low = self._cell(box.min_lat, box.min_lon)
        high = self._cell(box.max_lat, box.max_lon)
        if (high[0] - low[0] + 1) * (high[1] - low[1] + 1) > len(self._cells):
            cells: Iterable[dict[int | str, IndexedStation]] = self._cells.values()
        else:
            cells = (
                self._cells[(i, j)]
                for i in range(low[0], high[0] + 1)
                for j in range(low[1], high[1] + 1)
                if (i, j) in self._cells
            )
        for cell in cells:
            for station in cell.values():
                if (item is None or item in station.items) and box.contains(
                    station.lat, station.lon
                ):
                    yield station
