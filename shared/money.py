"""Money: exact decimals, two places, serialised as strings ("1234.50")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")


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
    AfterValidator(_two_places),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "examples": ["1234.50"]}),
]
"""A yuan amount. Accepts "12.3" or 12.3 with at most two places; answers "12.30"."""
