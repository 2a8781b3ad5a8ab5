"""Pure rules: voucher codes, validity periods, transfer states."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.domain import voucher
from services.enrollment.domain.periods import contains, first_overlap, overlaps
from services.enrollment.domain.transfers import (
    IllegalTransition,
    TransferAction,
    TransferState,
    next_state,
)

KEY = b"k" * 32
NOW = 1_800_000_000
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# --- voucher codes ---------------------------------------------------------------------------


@given(st.integers(1, voucher.MAX_PERSON_ID), st.integers(1, 3600))
def test_a_code_resolves_to_its_person_until_it_expires(person_id: int, lifetime: int) -> None:
    code = voucher.issue(KEY, person_id, NOW + lifetime)
    assert len(code) == voucher.CODE_LENGTH
    found = voucher.verify(KEY, code, NOW + lifetime - 0.001)
    assert found.person_id == person_id
    assert int(found.expires_at.timestamp()) == NOW + lifetime
    with pytest.raises(voucher.VoucherExpired):
        voucher.verify(KEY, code, NOW + lifetime)


@given(
    st.integers(1, voucher.MAX_PERSON_ID),
    st.integers(0, voucher.CODE_LENGTH - 1),
    st.integers(1, 31),
)
def test_any_one_changed_character_is_refused(person_id: int, position: int, shift: int) -> None:
    code = voucher.issue(KEY, person_id, NOW + 120)
    if position < len(voucher.PREFIX):
        replacement = "Z" if code[position] != "Z" else "Q"
    else:
        replacement = B32[(B32.index(code[position]) + shift) % 32]
    tampered = code[:position] + replacement + code[position + 1 :]
    assert tampered != code
    with pytest.raises(voucher.VoucherError):
        voucher.verify(KEY, tampered, NOW)


def test_every_single_character_change_of_one_code_is_refused() -> None:
    code = voucher.issue(KEY, 42, NOW + 120)
    for position in range(len(voucher.PREFIX), len(code)):
        for ch in B32:
            if ch == code[position]:
                continue
            tampered = code[:position] + ch + code[position + 1 :]
            with pytest.raises(voucher.VoucherError):
                voucher.verify(KEY, tampered, NOW)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "YB",
        "XX" + "A" * 48,
        "YB" + "A" * 47,
        "YB" + "A" * 49,
        "YB" + "a" * 48,
        "YB" + "1" * 48,
        "YB" + "A" * 47 + "=",
    ],
)
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(voucher.VoucherError):
        voucher.verify(KEY, code, NOW)


def test_a_code_signed_with_another_key_is_forged() -> None:
    code = voucher.issue(b"x" * 32, 7, NOW + 120)
    with pytest.raises(voucher.VoucherError, match="signature"):
        voucher.verify(KEY, code, NOW)


def test_two_codes_for_the_same_person_and_second_differ() -> None:
    assert voucher.issue(KEY, 7, NOW + 120) != voucher.issue(KEY, 7, NOW + 120)


def test_person_id_range_is_checked() -> None:
    with pytest.raises(ValueError):
        voucher.issue(KEY, 0, NOW)
    with pytest.raises(ValueError):
        voucher.issue(KEY, voucher.MAX_PERSON_ID + 1, NOW)


# --- periods ---------------------------------------------------------------------------------

D = date(2024, 3, 10)


@pytest.mark.parametrize(
    ("start", "end", "day", "expected"),
    [
        (D, D, D, True),
        (D, None, D, True),
        (D, D + timedelta(days=5), D + timedelta(days=5), True),
        (D, D + timedelta(days=5), D + timedelta(days=6), False),
        (D, None, D - timedelta(days=1), False),
        (D, None, date(2172, 12, 31), True),
    ],
)
def test_contains_is_inclusive_at_both_ends(
    start: date, end: date | None, day: date, expected: bool
) -> None:
    assert contains(start, end, day) is expected


days = st.integers(0, 60).map(lambda n: D + timedelta(days=n))


@given(days, st.none() | days, days, st.none() | days)
def test_overlaps_means_some_day_is_in_both(
    a_start: date, a_end: date | None, b_start: date, b_end: date | None
) -> None:
    if (a_end is not None and a_end < a_start) or (b_end is not None and b_end < b_start):
        return
    horizon = [D + timedelta(days=n) for n in range(0, 62)]
    brute = any(contains(a_start, a_end, d) and contains(b_start, b_end, d) for d in horizon)
    assert overlaps(a_start, a_end, b_start, b_end) is brute
    assert overlaps(b_start, b_end, a_start, a_end) is brute


def test_first_overlap_finds_the_clash() -> None:
    class P:
        def __init__(self, start: date, end: date | None) -> None:
            self.start_date, self.end_date = start, end

    periods = [P(D, D + timedelta(days=9)), P(D + timedelta(days=20), None)]
    assert first_overlap(D + timedelta(days=10), D + timedelta(days=19), periods) is None
    assert first_overlap(D + timedelta(days=9), D + timedelta(days=9), periods) is periods[0]
    assert first_overlap(D + timedelta(days=25), None, periods) is periods[1]


# --- transfers -------------------------------------------------------------------------------

LEGAL = {
    (TransferState.requested, TransferAction.approve): TransferState.approved,
    (TransferState.requested, TransferAction.reject): TransferState.rejected,
    (TransferState.approved, TransferAction.complete): TransferState.completed,
}


@pytest.mark.parametrize("state", list(TransferState))
@pytest.mark.parametrize("action", list(TransferAction))
def test_transfer_transitions(state: TransferState, action: TransferAction) -> None:
    if (state, action) in LEGAL:
        assert next_state(state, action) is LEGAL[(state, action)]
    else:
        with pytest.raises(IllegalTransition):
            next_state(state, action)
