"""The in-memory grid index answers a box exactly as a scan of every station would."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.stations.domain.geo import Box, bounding_box
from services.stations.domain.station_index import IndexedStation, StationIndex

ITEMS = ("SI03", "SI24", "SI26")


def _station(i: int, lat: float, lon: float, items: frozenset[str]) -> IndexedStation:
    return IndexedStation(
        i, lat, lon, f"站{i}", "township", "township", "371602001", "", None, items
    )


stations = st.lists(
    st.tuples(
        st.floats(min_value=36.0, max_value=38.0),
        st.floats(min_value=117.0, max_value=119.0),
        st.frozensets(st.sampled_from(ITEMS)),
    ),
    max_size=60,
)


@given(
    stations,
    st.floats(min_value=36.0, max_value=38.0),
    st.floats(min_value=117.0, max_value=119.0),
    st.floats(min_value=0, max_value=60_000),
    st.sampled_from((None, *ITEMS)),
    st.sampled_from((0.005, 0.02, 0.5)),
)
def test_box_matches_a_full_scan(rows, lat, lon, radius, item, cell):
    everything = [_station(i, a, b, items) for i, (a, b, items) in enumerate(rows)]
    index = StationIndex(cell_deg=cell)
    index.put(everything)
    box = bounding_box(lat, lon, radius)
    expected = {
        s.id for s in everything if box.contains(s.lat, s.lon) and (item is None or item in s.items)
    }
    assert {s.id for s in index.in_box(box, item)} == expected
    assert len(index) == len(everything)


def test_put_replaces_a_station_that_moved():
    index = StationIndex()
    index.put([_station(1, 37.0, 118.0, frozenset({"SI03"}))])
    index.put([_station(1, 10.0, 10.0, frozenset({"SI03"}))])
    assert len(index) == 1
    assert list(index.in_box(Box(36.9, 37.1, 117.9, 118.1))) == []
    assert [s.id for s in index.in_box(Box(9.9, 10.1, 9.9, 10.1), "SI03")] == [1]
    assert list(index.in_box(Box(9.9, 10.1, 9.9, 10.1), "SI24")) == []
    with pytest.raises(ValueError):
        StationIndex(cell_deg=0)
