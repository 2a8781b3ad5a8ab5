"""Institution codes, the video-request state machine, inventory row checks, the catalog."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.stations.catalog import (
    SEEDED_STATIONS,
    SERVICE_ITEMS,
    STATION_TYPES,
    Scheme,
    duty_counts,
)
from services.stations.domain.codes import (
    InstitutionKind,
    InvalidInstitutionCode,
    is_offsite,
    kind_of,
    make_institution_code,
    problems_with,
    validate_institution_code,
)
from services.stations.domain.inventory import above_standard, duplicate_rows, unknown_drug_rows
from services.stations.domain.video import (
    TRANSITIONS,
    IllegalTransition,
    VideoAction,
    VideoStatus,
    next_status,
)


@pytest.mark.parametrize("code", ["H37160200001", "P37160200007", "H37010200012", "P11010199999"])
def test_valid_institution_codes(code):
    assert validate_institution_code(code) == code


@pytest.mark.parametrize(
    "code",
    ["", "H3716020001", "H371602000011", "X37160200001", "h37160200001", "H00160200001",
     "H37160200000", "P3716020000A"],
)  # fmt: skip
def test_invalid_institution_codes(code):
    with pytest.raises(InvalidInstitutionCode):
        validate_institution_code(code)


@given(st.sampled_from(list(InstitutionKind)), st.integers(1, 99_999))
def test_made_codes_validate_and_know_their_kind(kind, sequence):
    code = make_institution_code(kind, "371602", sequence)
    assert validate_institution_code(code) == code
    assert kind_of(code) is kind


@pytest.mark.parametrize(
    ("code", "kind", "tier", "region", "fields"),
    [
        ("H37160200001", InstitutionKind.hospital, 3, "371602", []),
        ("H37160200001", InstitutionKind.hospital, 3, "371602001", []),
        ("P37160200001", InstitutionKind.pharmacy, None, "371602", []),
        ("P37160200001", InstitutionKind.hospital, 2, "371602", ["code"]),
        ("H37160200001", InstitutionKind.hospital, 2, "371603", ["region_code"]),
        ("H37160200001", InstitutionKind.hospital, None, "371602", ["tier"]),
        ("P37160200001", InstitutionKind.pharmacy, 1, "371602", ["tier"]),
    ],
)
def test_institution_field_agreement(code, kind, tier, region, fields):
    assert [field for field, _ in problems_with(code, kind, tier, region)] == fields


@pytest.mark.parametrize(
    ("region", "offsite"),
    [("371602", False), ("371681001", False), ("370102", True), ("110101", True)],
)
def test_offsite_is_outside_the_city(region, offsite):
    assert is_offsite(region) is offsite


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (VideoStatus.queued, VideoAction.accept, VideoStatus.accepted),
        (VideoStatus.queued, VideoAction.cancel, VideoStatus.cancelled),
        (VideoStatus.accepted, VideoAction.complete, VideoStatus.completed),
        (VideoStatus.accepted, VideoAction.cancel, VideoStatus.cancelled),
        (VideoStatus.queued, VideoAction.complete, None),
        (VideoStatus.accepted, VideoAction.accept, None),
        (VideoStatus.completed, VideoAction.cancel, None),
        (VideoStatus.cancelled, VideoAction.accept, None),
    ],
)
def test_video_transitions(status, action, after):
    if after is None:
        with pytest.raises(IllegalTransition):
            next_status(status, action)
    else:
        assert next_status(status, action) is after


@given(st.lists(st.sampled_from(list(VideoAction)), max_size=10))
def test_video_requests_end_where_they_end(actions):
    """Any sequence of actions: completed and cancelled are final, completion needs acceptance."""
    status = VideoStatus.queued
    accepted = False
    for action in actions:
        try:
            status = next_status(status, action)
        except IllegalTransition:
            assert (status, action) not in TRANSITIONS
            continue
        accepted = accepted or status is VideoStatus.accepted
        if status is VideoStatus.completed:
            assert accepted
    if status in (VideoStatus.completed, VideoStatus.cancelled):
        for action in VideoAction:
            with pytest.raises(IllegalTransition):
                next_status(status, action)


def test_inventory_row_checks():
    codes = ["XA0001", "XA0002", "XA0001", "ZZ9", "XA0001"]
    assert [(e.row, e.path) for e in duplicate_rows(codes)] == [
        (2, "body.2.drug_code"),
        (4, "body.4.drug_code"),
    ]
    assert [e.row for e in unknown_drug_rows(codes, {"XA0001", "XA0002"})] == [3]
    assert above_standard(Decimal("10.01"), Decimal("10.00"))
    assert not above_standard(Decimal("10.00"), Decimal("10.00"))
    assert not above_standard(Decimal("99.00"), None)


def test_catalog_has_the_seed_shape():
    assert len(SERVICE_ITEMS) == 34
    assert len({i.code for i in SERVICE_ITEMS}) == 34
    offline = [i for i in SERVICE_ITEMS if not i.online]
    assert len(offline) == 2 and all("手工" in i.name for i in offline)
    assert duty_counts("county_hall") == {Scheme.employee: 23, Scheme.resident: 14}
    expected = {"township": 9, "public_hospital": 8, "private_hospital": 4,
                "village_clinic": 3, "grid_worker": 2}  # fmt: skip
    for type_code, count in expected.items():
        assert len(next(t for t in STATION_TYPES if t.code == type_code).items) == count
    codes = {i.code for i in SERVICE_ITEMS}
    assert all(set(t.items) <= codes for t in STATION_TYPES)
    assert SEEDED_STATIONS == 1752
