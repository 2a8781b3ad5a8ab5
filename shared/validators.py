"""Checksums of the national identifiers, as pure functions and as pydantic field types.

- Resident ID number, GB 11643-1999 (公民身份号码).
- Unified social credit code, GB 32100-2015 (统一社会信用代码).
- Administrative region codes, GB/T 2260, extended to 9 (township) and 12 (village) digits.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS = re.compile(r"[0-9]+")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


class InvalidIdentifier(ValueError):
    pass


def id_number_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str) -> str:
    """Returns the normalised ID number (upper-case X) or raises :class:`InvalidIdentifier`."""
    value = value.strip().upper()
    if len(value) != 18:
        raise InvalidIdentifier("an ID number has 18 characters")
    # ASCII only: str.isdigit() would accept full-width digits and let one person in twice.
    if not _ID_SHAPE.fullmatch(value):
        raise InvalidIdentifier("an ID number is 17 digits and a digit or X")
    if value[:2] == "00":
        raise InvalidIdentifier("an ID number starts with a province code")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier("the ID number's birth date is not a date") from None
    if born.year < 1900:
        raise InvalidIdentifier("the ID number's birth date is before 1900")
    if id_number_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("the ID number's check character does not match")
    return value


def birth_date_of(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def region_of(id_number: str) -> str:
    return id_number[:6]


def is_male(id_number: str) -> bool:
    return int(id_number[16]) % 2 == 1


def make_id_number(region: str, born: date, sequence: int) -> str:
    """Builds a valid ID number (demo data, tests)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 18:
        raise InvalidIdentifier("a unified social credit code has 18 characters")
    if any(ch not in USCC_ALPHABET for ch in value):
        raise InvalidIdentifier(
            "a unified social credit code uses only 0-9 and A-Y without I O S V Z"
        )
    if not _DIGITS.fullmatch(value[2:8]):
        raise InvalidIdentifier("characters 3-8 of a unified social credit code are a region code")
    if uscc_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("the unified social credit code's check character does not match")
    return value


def make_uscc(prefix: str) -> str:
    """Completes 17 characters with their check character (demo data, tests)."""
    return prefix + uscc_check_char(prefix)


def validate_region_code(value: str) -> str:
    value = value.strip()
    if len(value) not in (6, 9, 12) or not _DIGITS.fullmatch(value):
        raise InvalidIdentifier("a region code has 6 (county), 9 (township) or 12 (village) digits")
    if value[:2] == "00":
        raise InvalidIdentifier("a region code starts with a province code")
    return value


def _str_only(value: object) -> object:
    if not isinstance(value, str):
        raise InvalidIdentifier("must be a string")
    return value


VOUCHER_CODE_PATTERN = r"^[A-Za-z0-9]{1,200}$"
"""An electronic voucher code (医保码) as scanned: letters and digits."""

ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"
USCC_PATTERN = r"^[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{18}$"
REGION_CODE_PATTERN = r"^[0-9]{6}([0-9]{3}){0,2}$"

IdNumber = Annotated[
    str,
    Field(pattern=ID_NUMBER_PATTERN, examples=["371602198001010013"]),
    BeforeValidator(_str_only),
    AfterValidator(validate_id_number),
]
USCC = Annotated[
    str,
    Field(pattern=USCC_PATTERN, examples=["91350100M000100Y43"]),
    BeforeValidator(_str_only),
    AfterValidator(validate_uscc),
]
RegionCode = Annotated[
    str,
    Field(pattern=REGION_CODE_PATTERN, examples=["371602001"]),
    BeforeValidator(_str_only),
    AfterValidator(validate_region_code),
]
