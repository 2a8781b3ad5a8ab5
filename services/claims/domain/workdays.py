"""Working days per the Chinese calendar (法定节假日 and 调休 make-up workdays).

The State Council publishes a year's holidays late in the year before; for a year neither a
loaded table nor the chinesecalendar package knows, Monday to Friday stands in and the answer
is marked provisional.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar


@dataclass(frozen=True, slots=True)
class YearTable:
    """A year's published holidays and make-up workdays, as an admin loaded them."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)


def is_workday(day: date, tables: Mapping[int, YearTable]) -> tuple[bool, bool]:
    """(working day?, provisional?): a loaded table first, then the package, then Mon-Fri."""
    table = tables.get(day.year)
    if table is not None:
        if day in table.workdays:
            return True, False
        if day in table.holidays:
            return False, False
        return day.weekday() < 5, False
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        return day.weekday() < 5, True


def add_workdays(start: date, count: int, tables: Mapping[int, YearTable]) -> tuple[date, bool]:
    """The ``count``-th working day after ``start``, and whether any day counted was a guess."""
    day, found, provisional = start, 0, False
    while found < count:
        day += timedelta(days=1)
        working, guessed = is_workday(day, tables)
        provisional = provisional or guessed
        found += working
    return day, provisional
