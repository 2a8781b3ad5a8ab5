"""Checking a pharmacy's bulk inventory report row by row, before any row is written.

The rule the endpoint documents: every row is checked, every bad row is reported by its index,
and if any is bad none is applied (all or nothing, in one transaction).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str

    @property
    def path(self) -> str:
        return f"body.{self.row}.{self.field}"


def duplicate_rows(drug_codes: Sequence[str]) -> list[RowError]:
    """A drug twice in one report is ambiguous (which price?): every repeat after the first."""
    first: dict[str, int] = {}
    out = []
    for index, code in enumerate(drug_codes):
        if code in first:
            out.append(RowError(index, "drug_code", f"{code} is already in row {first[code]}"))
        else:
            first[code] = index
    return out


def unknown_drug_rows(drug_codes: Sequence[str], known: Collection[str]) -> list[RowError]:
    return [
        RowError(index, "drug_code", f"{code} is not in the medical-insurance drug catalog")
        for index, code in enumerate(drug_codes)
        if code not in known
    ]


def above_standard(price: Decimal, payment_standard: Decimal | None) -> bool:
    """A price above the drug's payment standard (医保支付标准) is flagged; a drug without
    one (not procured) never is."""
    return payment_standard is not None and price > payment_standard
