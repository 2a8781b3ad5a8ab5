from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.masking import mask_id_number, mask_id_numbers_in
from shared.validators import (
    USCC_ALPHABET,
    InvalidIdentifier,
    birth_date_of,
    make_id_number,
    make_uscc,
    validate_id_number,
    validate_region_code,
    validate_uscc,
)


@pytest.mark.parametrize(
    "value",
    ["371602198001010013", "371602195503150020", "371702199012311233", "370304202006010041"],
)
def test_domain_examples_of_id_numbers_are_valid(value):
    assert validate_id_number(value) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("371602198001010014", "check character"),
        ("37160219800101001", "18 characters"),
        ("3716021980010100133", "18 characters"),
        ("371602198002300013", "not a date"),
        ("37160219800101001Y", "digit or X"),
        ("A71602198001010013", "digit or X"),
        ("371602180001010013", "before 1900"),
    ],
)
def test_invalid_id_numbers_say_why(value, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_id_number(value)


def test_lower_case_x_is_normalised():
    first17 = "11010519491231002"
    value = make_id_number("110105", date(1949, 12, 31), 2)
    assert value[:17] == first17 and value[17] == "X"
    assert validate_id_number(value.lower()) == value


@given(
    region=st.sampled_from(["371602", "371681", "110105", "440305"]),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    sequence=st.integers(0, 999),
)
def test_made_id_numbers_validate_and_any_single_change_is_caught(region, born, sequence):
    value = make_id_number(region, born, sequence)
    assert validate_id_number(value) == value
    assert birth_date_of(value) == born
    for i in range(17):
        changed = value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]
        with pytest.raises(InvalidIdentifier):
            validate_id_number(changed)


def test_domain_example_uscc_is_valid():
    assert validate_uscc("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100I43", "without I O S V Z"),
        ("913A0100M000100Y43", "region code"),
    ],
)
def test_invalid_uscc_say_why(value, reason):
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_uscc(value)


@given(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9), st.integers(0, 999999))
def test_made_uscc_validate_and_a_changed_character_is_caught(tail, region):
    value = make_uscc(f"91{region:06d}{tail}")
    assert validate_uscc(value) == value
    i = 10
    replacement = USCC_ALPHABET[(USCC_ALPHABET.index(value[i]) + 1) % 31]
    with pytest.raises(InvalidIdentifier):
        validate_uscc(value[:i] + replacement + value[i + 1 :])


@pytest.mark.parametrize("value", ["371602", "371602001", "371602001001"])
def test_region_codes_of_each_level(value):
    assert validate_region_code(value) == value


@pytest.mark.parametrize("value", ["37160", "3716020011", "37160A", "001602"])
def test_bad_region_codes(value):
    with pytest.raises(InvalidIdentifier):
        validate_region_code(value)


def test_masking():
    assert mask_id_number("371602198001010013") == "371602********0013"
    text = "person 371602198001010013 and 37170219901231123X, order 1234567890123456789012"
    assert mask_id_numbers_in(text) == (
        "person 371602********0013 and 371702********123X, order 1234567890123456789012"
    )
