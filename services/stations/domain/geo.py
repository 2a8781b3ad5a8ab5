"""Distances, bounding boxes and travel times: the "15-minute service circle" as arithmetic.

Travel time is a model, not routing: straight-line (great-circle) distance times a detour factor,
at a constant speed per mode (DOMAIN.md section 4, all assumed). The figures are data in a
:class:`TravelModel`, so a bureau can change them without touching the code that uses them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from shared.schemas import Choice

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the sphere the haversine formula assumes."""

BOX_MARGIN_DEG = 1e-6
"""Widens every bounding box by ~0.1 m so float rounding never drops a point on its edge."""


class TravelMode(Choice):
    walk = "walk"
    bicycle = "bicycle"
    car = "car"


DEFAULT_SPEEDS_KMH: Mapping[TravelMode, float] = MappingProxyType(
    {TravelMode.walk: 5.0, TravelMode.bicycle: 12.0, TravelMode.car: 30.0}
)
DEFAULT_DETOUR_FACTOR = 1.3


@dataclass(frozen=True, slots=True)
class TravelModel:
    """Speeds per mode and the factor from straight-line to travelled distance (assumed)."""

    speeds_kmh: Mapping[TravelMode, float] = field(default_factory=lambda: DEFAULT_SPEEDS_KMH)
    detour_factor: float = DEFAULT_DETOUR_FACTOR

    def __post_init__(self) -> None:
        if self.detour_factor < 1:
            raise ValueError("the detour factor is at least 1")
        missing = set(TravelMode) - set(self.speeds_kmh)
        if missing:
            raise ValueError(f"no speed for {sorted(missing)}")
        if any(speed <= 0 for speed in self.speeds_kmh.values()):
            raise ValueError("speeds are positive")

    def metres_per_minute(self, mode: TravelMode) -> float:
        return self.speeds_kmh[mode] * 1000.0 / 60.0

    def minutes(self, distance_m: float, mode: TravelMode) -> float:
        """Estimated travel minutes for a straight-line distance."""
        return distance_m * self.detour_factor / self.metres_per_minute(mode)

    def reach_m(self, mode: TravelMode, minutes: float) -> float:
        """The longest straight-line distance travelled within ``minutes``."""
        return minutes * self.metres_per_minute(mode) / self.detour_factor

    def in_reach(self, distance_m: float, mode: TravelMode, minutes: float) -> bool:
        return self.minutes(distance_m, mode) <= minutes


DEFAULT_TRAVEL_MODEL = TravelModel()


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (on a sphere)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle; a circle that crosses the antimeridian or reaches a pole
    gets the full longitude range rather than two boxes (no demo region is near either)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


def bounding_box(lat: float, lon: float, radius_m: float) -> Box:
    """The smallest lat/lon box holding every point within ``radius_m`` of (lat, lon).

    The longitude half-width is asin(sin r / cos lat), which is exact on the sphere (the
    circle's widest point is not on the centre's parallel), so the box is a true superset.
    """
    if radius_m < 0:
        raise ValueError("the radius is not negative")
    angular = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angular) + BOX_MARGIN_DEG
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0 or angular >= math.pi / 2:
        return Box(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return Box(min_lat, max_lat, -180.0, 180.0)
    dlon = math.degrees(math.asin(ratio)) + BOX_MARGIN_DEG
    if lon - dlon < -180.0 or lon + dlon > 180.0:
        return Box(min_lat, max_lat, -180.0, 180.0)
    return Box(min_lat, max_lat, lon - dlon, lon + dlon)


def extent(points: Sequence[tuple[float, float]], margin_m: float) -> Box:
    """The smallest box holding the ``margin_m`` circle of every point (at least one)."""
    if not points:
        raise ValueError("the extent of no points")
    boxes = [bounding_box(lat, lon, margin_m) for lat, lon in points]
    return Box(
        min(b.min_lat for b in boxes),
        max(b.max_lat for b in boxes),
        min(b.min_lon for b in boxes),
        max(b.max_lon for b in boxes),
    )


# --- ranking ---------------------------------------------------------------------------------

DISTANCE_DECIMALS = 1
"""Distances are answered to 0.1 m; stations at the same answered distance are ordered by id."""
MINUTES_DECIMALS = 1


@dataclass(frozen=True, slots=True)
class Located:
    """Anything with an id and a position (a station, a pharmacy)."""

    id: int | str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Ranked:
    id: int | str
    distance_m: float
    travel_minutes: float | None


L = TypeVar("L", bound=Located)


def rank_nearest(
    origin: tuple[float, float],
    candidates: Iterable[L],
    *,
    max_distance_m: float | None = None,
    mode: TravelMode | None = None,
    minutes: float | None = None,
    model: TravelModel = DEFAULT_TRAVEL_MODEL,
    limit: int | None = None,
) -> list[tuple[L, Ranked]]:
    """The candidates within reach, nearest first, ties (same answered distance) by id.

    Reach is ``minutes`` of travel by ``mode`` when both are given, and/or ``max_distance_m``
    of straight-line distance. The caller may pass a superset (e.g. a bounding box's rows):
    the exact test happens here, on the unrounded figures.
    """
    lat0, lon0 = origin
    kept: list[tuple[tuple[float, str, int | str], L, Ranked]] = []
    for candidate in candidates:
        distance = haversine_m(lat0, lon0, candidate.lat, candidate.lon)
        if max_distance_m is not None and distance > max_distance_m:
            continue
        travel: float | None = None
        if mode is not None:
            travel = model.minutes(distance, mode)
            if minutes is not None and travel > minutes:
                continue
        shown = round(distance, DISTANCE_DECIMALS)
        ranked = Ranked(
            candidate.id,
            shown,
            None if travel is None else round(travel, MINUTES_DECIMALS),
        )
        # ids of one kind compare among themselves; the type name keeps mixed kinds total.
        kept.append(((shown, type(candidate.id).__name__, candidate.id), candidate, ranked))
    kept.sort(key=lambda row: row[0])
    if limit is not None:
        kept = kept[:limit]
    return [(candidate, ranked) for _, candidate, ranked in kept]


# --- coverage --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A village (or any populated point) whose coverage is asked."""

    code: str
    lat: float
    lon: float
    population: int


class PointGrid:
    """Points bucketed in square lat/lon cells, to ask "is any point within r of here?"
    without comparing every pair (villages × stations)."""

    def __init__(self, points: Iterable[tuple[float, float]], cell_deg: float) -> None:
        if cell_deg <= 0:
            raise ValueError("cells have a positive size")
        self.cell_deg = cell_deg
        self._cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for lat, lon in points:
            self._cells.setdefault(self._cell(lat, lon), []).append((lat, lon))

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg)

    def within(self, box: Box) -> Iterable[tuple[float, float]]:
        """The points in the cells that overlap ``box`` (a superset of those inside it)."""
        low = self._cell(box.min_lat, box.min_lon)
        high = self._cell(box.max_lat, box.max_lon)
        cells = (high[0] - low[0] + 1) * (high[1] - low[1] + 1)
        if cells > len(self._cells):
            # A box wider than the occupied cells: walk what is there instead of empty cells.
            for points in self._cells.values():
                yield from points
            return
        for i in range(low[0], high[0] + 1):
            for j in range(low[1], high[1] + 1):
                yield from self._cells.get((i, j), ())


@dataclass(frozen=True, slots=True)
class Coverage:
    population_total: int
    population_covered: int
    uncovered: list[Place]

    @property
    def covered_share(self) -> float:
        """Share of the population with a station in reach; 1.0 where nobody lives."""
        if self.population_total == 0:
            return 1.0
        return self.population_covered / self.population_total


def coverage(
    places: Sequence[Place],
    stations: Sequence[tuple[float, float]],
    mode: TravelMode,
    minutes: float,
    model: TravelModel = DEFAULT_TRAVEL_MODEL,
) -> Coverage:
    """Which places have no station within ``minutes`` by ``mode``, and the covered share."""
    reach = model.reach_m(mode, minutes)
    grid = PointGrid(stations, cell_deg=max(math.degrees(reach / EARTH_RADIUS_M), 1e-4))
    uncovered: list[Place] = []
    covered = 0
    for place in places:
        box = bounding_box(place.lat, place.lon, reach)
        if any(
            model.in_reach(haversine_m(place.lat, place.lon, lat, lon), mode, minutes)
            for lat, lon in grid.within(box)
        ):
            covered += place.population
        else:
            uncovered.append(place)
    total = sum(place.population for place in places)
    return Coverage(total, covered, uncovered)
