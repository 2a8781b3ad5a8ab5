"""Credit evaluation (信用评价) of an institution from its inspection results.

The scoring is an assumption of ours (the seeds name red and black lists, not a formula), so
its figures live in :class:`CreditPolicy`, not in the function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from shared.schemas import Choice


class Severity(Choice):
    minor = "minor"
    major = "major"
    critical = "critical"


class Result(Choice):
    passed = "pass"
    rectify = "rectify"
    """Passed with findings to rectify by a deadline (限期整改)."""
    failed = "fail"


class Rating(Choice):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@dataclass(frozen=True, slots=True)
class CreditPolicy:
    start: int = 100
    finding_penalty: Mapping[Severity, int] = field(
        default_factory=lambda: {Severity.minor: 2, Severity.major: 10, Severity.critical: 30}
    )
    failed_penalty: int = 20
    overdue_penalty: int = 15
    """A rectification still open after its deadline."""
    thresholds: tuple[tuple[Rating, int], ...] = (
        (Rating.A, 90),
        (Rating.B, 75),
        (Rating.C, 60),
    )
    window_days: int = 730
    """Only inspections of the last two years count."""


DEFAULT_POLICY = CreditPolicy()


@dataclass(frozen=True, slots=True)
class InspectionFacts:
    inspected_on: date
    result: Result
    severities: tuple[Severity, ...]
    rectification_deadline: date | None
    rectified_on: date | None


@dataclass(frozen=True, slots=True)
class CreditEvaluation:
    score: int
    rating: Rating
    inspections: int
    red_list: bool
    """红名单: rated A on at least one inspection with no major or critical finding."""
    black_list: bool
    """黑名单: rated D, or a critical finding left unrectified past its deadline."""


def evaluate(
    inspections: Iterable[InspectionFacts],
    today: date,
    policy: CreditPolicy = DEFAULT_POLICY,
) -> CreditEvaluation:
    score = policy.start
    count = 0
    serious = False
    critical_overdue = False
    for facts in inspections:
        if (today - facts.inspected_on).days > policy.window_days or facts.inspected_on > today:
            continue
        count += 1
        score -= sum(policy.finding_penalty[s] for s in facts.severities)
        if facts.result is Result.failed:
            score -= policy.failed_penalty
        overdue = (
            facts.rectification_deadline is not None
            and facts.rectified_on is None
            and facts.rectification_deadline < today
        )
        if overdue:
            score -= policy.overdue_penalty
            critical_overdue = critical_overdue or Severity.critical in facts.severities
        serious = serious or any(s is not Severity.minor for s in facts.severities)
    score = max(score, 0)
    rating = next((r for r, floor in policy.thresholds if score >= floor), Rating.D)
    return CreditEvaluation(
        score=score,
        rating=rating,
        inspections=count,
        red_list=rating is Rating.A and count > 0 and not serious,
        black_list=rating is Rating.D or critical_overdue,
    )
