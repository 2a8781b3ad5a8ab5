"""The travel-time model and distance arithmetic: pure, table-driven and property-tested."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.stations.domain.geo import (
    DEFAULT_TRAVEL_MODEL,
    Located,
    Place,
    TravelMode,
    TravelModel,
    bounding_box,
    coverage,
    extent,
    haversine_m,
    rank_nearest,
)

lats = st.floats(min_value=-85, max_value=85, allow_nan=False)
lons = st.floats(min_value=-179, max_value=179, allow_nan=False)
radii = st.floats(min_value=0, max_value=200_000, allow_nan=False)


@pytest.mark.parametrize(
    ("a", "b", "metres", "tolerance"),
    [
        ((37.432, 118.02), (37.432, 118.02), 0.0, 0.0),
        ((0.0, 0.0), (1.0, 0.0), 111_195.1, 0.1),
        ((0.0, 0.0), (0.0, 1.0), 111_195.1, 0.1),
        ((60.0, 0.0), (60.0, 1.0), 55_597.0, 1.0),
        ((39.9042, 116.4074), (31.2304, 121.4737), 1_067_000, 2_000),  # Beijing-Shanghai
        ((0.0, 0.0), (0.0, 180.0), math.pi * 6_371_008.8, 0.5),
    ],
)
def test_haversine_known_distances(a, b, metres, tolerance):
    assert abs(haversine_m(*a, *b) - metres) <= tolerance


@pytest.mark.parametrize(
    ("mode", "minutes", "reach_m"),
    [
        (TravelMode.walk, 15, 961.54),
        (TravelMode.bicycle, 15, 2307.69),
        (TravelMode.car, 15, 5769.23),
        (TravelMode.walk, 60, 3846.15),
    ],
)
def test_reach_per_mode(mode, minutes, reach_m):
    assert DEFAULT_TRAVEL_MODEL.reach_m(mode, minutes) == pytest.approx(reach_m, abs=0.01)


@pytest.mark.parametrize(
    ("distance_m", "mode", "minutes"),
    [
        (0, TravelMode.walk, 0.0),
        (1000, TravelMode.walk, 15.6),  # 1000 × 1.3 / 83.33 m/min
        (1000, TravelMode.bicycle, 6.5),
        (1000, TravelMode.car, 2.6),
        (5000, TravelMode.car, 13.0),
    ],
)
def test_travel_minutes(distance_m, mode, minutes):
    assert DEFAULT_TRAVEL_MODEL.minutes(distance_m, mode) == pytest.approx(minutes, abs=0.05)


def test_travel_model_is_data():
    slow = TravelModel(
        speeds_kmh={TravelMode.walk: 4.0, TravelMode.bicycle: 10.0, TravelMode.car: 20.0},
        detour_factor=1.0,
    )
    assert slow.minutes(1000, TravelMode.walk) == pytest.approx(15.0)
    with pytest.raises(ValueError):
        TravelModel(detour_factor=0.5)
    with pytest.raises(ValueError):
        TravelModel(speeds_kmh={TravelMode.walk: 5.0})


@given(lats, lons, lats, lons)
def test_haversine_is_a_symmetric_non_negative_distance(lat1, lon1, lat2, lon2):
    d = haversine_m(lat1, lon1, lat2, lon2)
    assert d >= 0
    assert d == pytest.approx(haversine_m(lat2, lon2, lat1, lon1), abs=1e-6)
    assert d <= math.pi * 6_371_008.8 + 1e-6


@given(lats, lons, lats, lons, lats, lons)
def test_triangle_inequality(lat1, lon1, lat2, lon2, lat3, lon3):
    ab = haversine_m(lat1, lon1, lat2, lon2)
    bc = haversine_m(lat2, lon2, lat3, lon3)
    ac = haversine_m(lat1, lon1, lat3, lon3)
    assert ac <= ab + bc + 1e-6


@settings(max_examples=400)
@given(
    lats,
    lons,
    radii,
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=2 * math.pi),
)
def test_bounding_box_holds_every_point_within_the_radius(lat, lon, radius, fraction, bearing):
    """Walk ``fraction × radius`` from the centre along ``bearing``: that point is in the box."""
    distance = radius * fraction
    angular = distance / 6_371_008.8
    phi1, lambda1 = math.radians(lat), math.radians(lon)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(angular) + math.cos(phi1) * math.sin(angular) * math.cos(bearing)
    )
    lambda2 = lambda1 + math.atan2(
        math.sin(bearing) * math.sin(angular) * math.cos(phi1),
        math.cos(angular) - math.sin(phi1) * math.sin(phi2),
    )
    lat2 = math.degrees(phi2)
    lon2 = (math.degrees(lambda2) + 540) % 360 - 180
    box = bounding_box(lat, lon, radius)
    assert box.contains(lat2, lon2)


def test_bounding_box_widens_with_latitude_and_covers_poles():
    equator = bounding_box(0, 0, 10_000)
    north = bounding_box(60, 0, 10_000)
    assert (north.max_lon - north.min_lon) > (equator.max_lon - equator.min_lon) * 1.9
    polar = bounding_box(89.99, 10, 10_000)
    assert (polar.min_lon, polar.max_lon) == (-180.0, 180.0)
    with pytest.raises(ValueError):
        bounding_box(0, 0, -1)


def test_rank_keeps_only_what_is_in_reach_nearest_first_ties_by_id():
    origin = (37.0, 118.0)
    here = [Located(i, 37.0, 118.0) for i in (9, 3, 5)]  # on the point: distance 0, by id
    near = Located(1, 37.005, 118.0)  # ~556 m
    far = Located(2, 37.02, 118.0)  # ~2.2 km
    ranked = rank_nearest(origin, [far, near, *here], mode=TravelMode.walk, minutes=15)
    assert [r.id for _, r in ranked] == [3, 5, 9, 1]
    assert [r.distance_m for _, r in ranked][:3] == [0.0, 0.0, 0.0]
    assert ranked[3][1].travel_minutes == pytest.approx(8.7, abs=0.1)
    assert rank_nearest(origin, [far], mode=TravelMode.walk, minutes=15) == []
    limited = rank_nearest(origin, [far, near, *here], mode=TravelMode.car, minutes=15, limit=2)
    assert [r.id for _, r in limited] == [3, 5]


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=36.9, max_value=37.1), st.floats(min_value=117.9, max_value=118.1)
        ),
        max_size=40,
    ),
    st.sampled_from(list(TravelMode)),
    st.floats(min_value=1, max_value=30),
)
def test_rank_matches_brute_force(points, mode, minutes):
    origin = (37.0, 118.0)
    candidates = [Located(i, lat, lon) for i, (lat, lon) in enumerate(points)]
    ranked = rank_nearest(origin, candidates, mode=mode, minutes=minutes)
    expected = {
        c.id
        for c in candidates
        if DEFAULT_TRAVEL_MODEL.minutes(haversine_m(*origin, c.lat, c.lon), mode) <= minutes
    }
    assert {r.id for _, r in ranked} == expected
    keys = [(r.distance_m, r.id) for _, r in ranked]
    assert keys == sorted(keys)


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=36.8, max_value=37.2), st.floats(min_value=117.8, max_value=118.2)
        ),
        max_size=30,
    ),
    st.lists(
        st.tuples(
            st.floats(min_value=36.8, max_value=37.2),
            st.floats(min_value=117.8, max_value=118.2),
            st.integers(min_value=0, max_value=5000),
        ),
        max_size=30,
    ),
    st.sampled_from(list(TravelMode)),
    st.floats(min_value=1, max_value=60),
)
def test_coverage_matches_brute_force(stations, villages, mode, minutes):
    places = [Place(f"v{i}", lat, lon, pop) for i, (lat, lon, pop) in enumerate(villages)]
    result = coverage(places, stations, mode, minutes)
    expected = [
        p
        for p in places
        if not any(
            DEFAULT_TRAVEL_MODEL.in_reach(haversine_m(p.lat, p.lon, lat, lon), mode, minutes)
            for lat, lon in stations
        )
    ]
    assert result.uncovered == expected
    assert result.population_total == sum(p.population for p in places)
    assert result.population_covered == result.population_total - sum(
        p.population for p in expected
    )
    assert 0.0 <= result.covered_share <= 1.0


def test_coverage_edge_cases():
    village = Place("v", 37.0, 118.0, 1000)
    assert coverage([village], [], TravelMode.walk, 15).uncovered == [village]
    assert coverage([village], [(37.0, 118.0)], TravelMode.walk, 15).covered_share == 1.0
    assert coverage([], [(37.0, 118.0)], TravelMode.walk, 15).covered_share == 1.0


@given(
    st.lists(st.tuples(st.floats(-60, 60), st.floats(-170, 170)), min_size=1, max_size=10),
    st.floats(min_value=0, max_value=50_000),
)
def test_extent_holds_every_points_box(points, margin):
    area = extent(points, margin)
    for lat, lon in points:
        box = bounding_box(lat, lon, margin)
        assert area.contains(box.min_lat, box.min_lon) and area.contains(box.max_lat, box.max_lon)
    with pytest.raises(ValueError):
        extent([], margin)
