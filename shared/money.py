"""Money: exact decimals, two places, serialised as strings ("1234.50")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

from shared.schemas import decimal_text

CENT = Decimal("0.01")

MONEY_PATTERN = r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"


def round_money(value: Decimal) -> Decimal:
    """ROUND_HALF_UP to the fen, the rounding DOMAIN.md prescribes."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("has more than two decimal places")
    return value.quantize(CENT)


Money = Annotated[
    Decimal,
    *decimal_text(MONEY_PATTERN, 'a yuan amount is a string like "1234.50"', "1234.50"),
    AfterValidator(_two_places),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]
"""A yuan amount: in JSON a string with at most two places ("12.3"), answered as "12.30"."""
