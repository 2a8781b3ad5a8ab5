"""Validity periods: both ends inclusive, an open end (None) running for ever."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypeVar


class Period(Protocol):
    @property
    def start_date(self) -> date: ...

    @property
    def end_date(self) -> date | None: ...


P = TypeVar("P", bound=Period)

EARLIEST = date(1900, 1, 1)
LATEST = date(2172, 12, 31)
"""The range the database's day-number encoding of coverage periods covers (see migration 0002)."""


def contains(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day <= end)


def overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


def first_overlap(start: date, end: date | None, periods: Iterable[P]) -> P | None:
    for period in periods:
        if overlaps(start, end, period.start_date, period.end_date):
            return period
    return None
