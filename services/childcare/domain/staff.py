"""Staff roles, inspection levels and the yearly health check."""

from __future__ import annotations

from datetime import date, timedelta

from shared.schemas import Choice

HEALTH_CHECK_INTERVAL = timedelta(days=365)


class StaffRole(Choice):
    director = "director"
    caregiver = "caregiver"
    health_worker = "health_worker"
    cook = "cook"
    security = "security"


class InspectionLevel(Choice):
    city = "city"
    county = "county"
    township = "township"


def health_check_due_on(last: date | None) -> date | None:
    return None if last is None else last + HEALTH_CHECK_INTERVAL


def health_check_overdue(last: date | None, today: date) -> bool:
    """Never checked, or the last check is more than a year old."""
    due = health_check_due_on(last)
    return due is None or due < today
