"""Masking of resident ID numbers (GB 11643), sensitive personal data under the PIPL."""

from __future__ import annotations

import re

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_id_number(id_number: str) -> str:
    """``371602198001010013`` → ``371602********0013``: region and last four stay readable."""
    if len(id_number) != 18:
        return "*" * len(id_number)
    return f"{id_number[:6]}********{id_number[-4:]}"


def mask_id_numbers_in(text: str) -> str:
    """Masks every 18-character ID number found in free text (log lines, messages)."""
    return _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``: the first three and last four characters stay."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
