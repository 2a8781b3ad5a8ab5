"""Designated institution codes: ``H`` (medical institution) or ``P`` (pharmacy) + the 6-digit
county code + a 5-digit sequence, e.g. H37160200001 (DOMAIN.md section 1)."""

from __future__ import annotations

import re

from shared.regions import is_in_city
from shared.schemas import Choice

INSTITUTION_CODE_PATTERN = r"^[HP]\d{11}$"
_CODE = re.compile(INSTITUTION_CODE_PATTERN)


class InstitutionKind(Choice):
    hospital = "hospital"
    pharmacy = "pharmacy"


PREFIX = {InstitutionKind.hospital: "H", InstitutionKind.pharmacy: "P"}


class InvalidInstitutionCode(ValueError):
    pass


def validate_institution_code(code: str) -> str:
    if not _CODE.fullmatch(code):
        raise InvalidInstitutionCode(
            "an institution code is H or P, a 6-digit county code and a 5-digit sequence"
        )
    if code[1:3] == "00":
        raise InvalidInstitutionCode("an institution code's county code starts with a province")
    if code[7:] == "00000":
        raise InvalidInstitutionCode("an institution code's sequence starts at 00001")
    return code


def kind_of(code: str) -> InstitutionKind:
    return InstitutionKind.hospital if code[0] == "H" else InstitutionKind.pharmacy


def county_of_code(code: str) -> str:
    return code[1:7]


def make_institution_code(kind: InstitutionKind, county: str, sequence: int) -> str:
    return validate_institution_code(f"{PREFIX[kind]}{county}{sequence:05d}")


def is_offsite(region_code: str) -> bool:
    """Off-site (异地): outside the city, whose tier claims then treat as off-site care."""
    return not is_in_city(region_code)


def problems_with(
    code: str, kind: InstitutionKind, tier: int | None, region_code: str
) -> list[tuple[str, str]]:
    """(field, message) for each way a new institution's fields disagree with each other."""
    out: list[tuple[str, str]] = []
    if kind_of(code) is not kind:
        out.append(("code", f"a {kind.value} code starts with {PREFIX[kind]}"))
    if county_of_code(code) != region_code[:6]:
        out.append(("region_code", "the region is not in the county the code names"))
    if kind is InstitutionKind.hospital and tier is None:
        out.append(("tier", "a hospital has a tier (1, 2 or 3)"))
    if kind is InstitutionKind.pharmacy and tier is not None:
        out.append(("tier", "a pharmacy has no tier"))
    return out
