"""Pure rules: particulars, the double-random draw, credit ratings, the health check."""

import random
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.childcare.domain.credit import (
    InspectionFacts,
    Rating,
    Result,
    Severity,
    evaluate,
)
from services.childcare.domain.draw import MAX_SEED, draw
from services.childcare.domain.institution import (
    AgeGroup,
    Form,
    Nature,
    RegistrationAuthority,
    ServiceMode,
    particular_errors,
)
from services.childcare.domain.staff import health_check_overdue
from shared.validators import make_uscc

CIVIL = make_uscc("52371602MJ0000099")
MARKET = make_uscc("91371602MA0000099")
STAFFING = make_uscc("12371602490000099")


def errors(**overrides):
    values: dict[str, Any] = {
        "uscc": MARKET,
        "nature": Nature.for_profit,
        "authority": RegistrationAuthority.market_regulation,
        "form": Form.standalone,
        "capacity": {AgeGroup.toddler: 10},
        "service_modes": [ServiceMode.full_day],
        "fee_modes": [ServiceMode.full_day],
    }
    values.update(overrides)
    return [field for field, _ in particular_errors(**values)]


@pytest.mark.parametrize(
    ("nature", "authority", "uscc", "expected"),
    [
        (Nature.for_profit, RegistrationAuthority.market_regulation, MARKET, []),
        (Nature.non_profit, RegistrationAuthority.civil_affairs, CIVIL, []),
        (Nature.non_profit, RegistrationAuthority.staffing_office, STAFFING, []),
        (Nature.for_profit, RegistrationAuthority.civil_affairs, CIVIL, ["registration_authority"]),
        (
            Nature.for_profit,
            RegistrationAuthority.staffing_office,
            STAFFING,
            ["registration_authority"],
        ),
        (
            Nature.non_profit,
            RegistrationAuthority.market_regulation,
            MARKET,
            ["registration_authority"],
        ),
        (Nature.non_profit, RegistrationAuthority.civil_affairs, MARKET, ["uscc"]),
        (Nature.for_profit, RegistrationAuthority.market_regulation, CIVIL, ["uscc"]),
    ],
)
def test_nature_goes_with_its_registration_authority(nature, authority, uscc, expected):
    assert errors(nature=nature, authority=authority, uscc=uscc) == expected


@pytest.mark.parametrize("group", list(AgeGroup))
def test_kindergarten_class_takes_only_ages_two_to_three(group):
    found = errors(form=Form.kindergarten_class, capacity={group: 5})
    assert found == ([] if group is AgeGroup.preschool else [f"capacity.{group.value}"])
    # Zero places in another group is no breach.
    if group is not AgeGroup.preschool:
        assert (
            errors(form=Form.kindergarten_class, capacity={AgeGroup.preschool: 5, group: 0}) == []
        )


def test_capacity_and_fee_modes():
    assert errors(capacity={AgeGroup.infant: 0}) == ["capacity"]
    assert errors(fee_modes=[ServiceMode.hourly]) == ["fees.hourly"]


@given(
    st.integers(0, MAX_SEED),
    st.lists(st.integers(1, 10_000), max_size=60),
    st.lists(st.integers(1, 500), max_size=20),
    st.integers(1, 70),
    st.integers(1, 25),
)
def test_draw_is_reproducible_and_order_free(seed, institutions, inspectors, n, m):
    first = draw(seed, institutions, inspectors, n, m)
    shuffled_i, shuffled_p = list(institutions), list(inspectors)
    random.Random(seed ^ 1).shuffle(shuffled_i)
    random.Random(seed ^ 2).shuffle(shuffled_p)
    assert draw(seed, shuffled_i, shuffled_p, n, m) == first
    assert len(first.institution_ids) == min(n, len(set(institutions)))
    assert len(set(first.institution_ids)) == len(first.institution_ids)
    assert set(first.institution_ids) <= set(institutions)
    assert set(first.inspector_ids) <= set(inspectors)


def test_draw_depends_on_the_seed_and_rejects_bad_seeds():
    candidates = list(range(1, 101))
    assert draw(1, candidates, candidates, 5, 2) != draw(2, candidates, candidates, 5, 2)
    with pytest.raises(ValueError):
        draw(-1, candidates, candidates, 1, 1)


TODAY = date(2026, 11, 23)


def facts(days_ago, result=Result.passed, severities=(), deadline_in=None, rectified=False):
    on = TODAY - timedelta(days=days_ago)
    deadline = None if deadline_in is None else TODAY + timedelta(days=deadline_in)
    return InspectionFacts(on, result, tuple(severities), deadline, deadline if rectified else None)


@pytest.mark.parametrize(
    ("inspections", "score", "rating", "red", "black"),
    [
        ([], 100, Rating.A, False, False),
        ([facts(10)], 100, Rating.A, True, False),
        ([facts(10, severities=[Severity.minor])], 98, Rating.A, True, False),
        (
            [facts(10, Result.rectify, [Severity.major], deadline_in=10)],
            90,
            Rating.A,
            False,
            False,
        ),
        (
            [facts(40, Result.rectify, [Severity.major], deadline_in=-10)],
            75,
            Rating.B,
            False,
            False,
        ),
        (
            [facts(40, Result.failed, [Severity.critical], deadline_in=-5)],
            35,
            Rating.D,
            False,
            True,
        ),
        (
            [facts(40, Result.failed, [Severity.critical], deadline_in=-5, rectified=True)],
            50,
            Rating.D,
            False,
            True,
        ),
        ([facts(1000, Result.failed, [Severity.critical])], 100, Rating.A, False, False),
    ],
)
def test_credit_evaluation(inspections, score, rating, red, black):
    result = evaluate(inspections, TODAY)
    assert (result.score, result.rating, result.red_list, result.black_list) == (
        score,
        rating,
        red,
        black,
    )


def test_health_check_overdue():
    assert health_check_overdue(None, TODAY)
    assert not health_check_overdue(TODAY - timedelta(days=365), TODAY)
    assert health_check_overdue(TODAY - timedelta(days=366), TODAY)
