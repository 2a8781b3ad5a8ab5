"""Reimbursement deadlines: 10 working days per the Chinese calendar."""

from __future__ import annotations

from datetime import date

from services.claims.domain.workdays import YearTable, add_workdays


def test_national_day_holiday_and_make_up_workday() -> None:
    # Submitted Tue 2025-09-30, the working day before the National Day holiday (10-01..10-08).
    # Working days after it: 10-09 Thu (1), 10-10 Fri (2), 10-11 Sat make-up workday (3),
    # 10-13 Mon (4), 10-14 (5), 10-15 (6), 10-16 (7), 10-17 (8), 10-20 Mon (9), 10-21 Tue (10).
    assert add_workdays(date(2025, 9, 30), 10, {}) == (date(2025, 10, 21), False)


def test_unknown_year_falls_back_to_weekdays_and_is_provisional() -> None:
    # 2026-12-24 Thu: 12-25 (1), 12-28..12-31 (2-5), then 2027 unknown: 01-01 Fri (6),
    # 01-04..01-07 (7-10) → 2027-01-07, provisional
    assert add_workdays(date(2026, 12, 24), 10, {}) == (date(2027, 1, 7), True)


def test_a_loaded_year_is_preferred() -> None:
    table = YearTable(
        holidays=frozenset({date(2027, 1, 1), date(2027, 1, 4)}),
        workdays=frozenset({date(2027, 1, 2)}),
    )
    # 12-25 (1), 12-28..12-31 (2-5), 01-01 holiday, 01-02 Sat make-up (6), 01-04 holiday,
    # 01-05..01-08 (7-10) → 2027-01-08, not provisional
    assert add_workdays(date(2026, 12, 24), 10, {2027: table}) == (date(2027, 1, 8), False)
