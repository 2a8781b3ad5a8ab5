"""Fund supervision (基金监管): the suspicious patterns a new settlement is checked for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.claims.domain.policy import VisitType
from shared.schemas import Choice


class FlagKind(Choice):
    duplicate_items = "duplicate_items"
    """The same items billed twice for a person on one day."""
    daily_limit = "daily_limit"
    """A drug's quantity for a person on one day beyond its daily limit."""
    inpatient_overlap = "inpatient_overlap"
    """An inpatient stay overlapping another."""
    not_covered = "not_covered"
    """Care for a person not covered on that date (found by a recheck after a retroactive
    change of coverage: a settlement itself refuses an uncovered person)."""
    prescription_missing = "prescription_missing"
    """A prescription-only drug sold at a pharmacy without a prescription."""


@dataclass(frozen=True, slots=True)
class Billed:
    """A visit already settled (not reversed), or the one being settled."""

    settlement_id: int | None
    visit_type: VisitType
    service_date: date
    discharge_date: date | None
    quantities: Mapping[str, Decimal]

    @property
    def last_day(self) -> date:
        return self.discharge_date or self.service_date


@dataclass(frozen=True, slots=True)
class Flag:
    kind: FlagKind
    detail: str


def check(
    new: Billed,
    earlier: Sequence[Billed],
    daily_limits: Mapping[str, Decimal],
    unprescribed: Sequence[str] = (),
) -> list[Flag]:
    """``unprescribed``: prescription-only drugs of a pharmacy sale that came without one."""
    flags: list[Flag] = []
    if unprescribed:
        flags.append(
            Flag(
                FlagKind.prescription_missing,
                f"prescription-only {', '.join(sorted(unprescribed))} sold without a prescription",
            )
        )
    same_day = [b for b in earlier if b.service_date == new.service_date]
    for other in same_day:
        repeated = sorted(set(new.quantities) & set(other.quantities))
        if repeated:
            flags.append(
                Flag(
                    FlagKind.duplicate_items,
                    f"items {', '.join(repeated)} also billed on {new.service_date.isoformat()} "
                    f"in settlement {other.settlement_id}",
                )
            )
    for code, limit in sorted(daily_limits.items()):
        if code not in new.quantities:
            continue
        total = new.quantities[code] + sum(
            (b.quantities.get(code, Decimal(0)) for b in same_day), Decimal(0)
        )
        if total > limit:
            flags.append(
                Flag(
                    FlagKind.daily_limit,
                    f"{code}: {total} on {new.service_date.isoformat()}, daily limit {limit}",
                )
            )
    if new.visit_type is VisitType.inpatient:
        for other in earlier:
            if (
                other.visit_type is VisitType.inpatient
                and other.service_date <= new.last_day
                and new.service_date <= other.last_day
            ):
                flags.append(
                    Flag(
                        FlagKind.inpatient_overlap,
                        f"stay {new.service_date.isoformat()}..{new.last_day.isoformat()} "
                        f"overlaps settlement {other.settlement_id}",
                    )
                )
    return flags
