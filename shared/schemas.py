"""What request bodies are built from: strict models and the field types of API.md's "Strict input".

A field is taken only in its documented JSON type: ``true`` is not an id, ``10`` is not a money
string, ``0`` is not a date, "１" (full-width) is not a number. :class:`StrictModel` gives every
field pydantic's strict mode (no bool as int, no number as text, no string as number); the types
here add the one string form each JSON-string type has (an ISO date, an ASCII decimal), because
FastAPI validates a parsed body as Python objects, where strict mode would refuse every string
for a date. Outside a strict model (query and path parameters, which arrive as strings; response
models built from database rows) the same types keep their ranges and string forms.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

MAX_ID = 2**63 - 1
"""Ids are PostgreSQL bigints."""

TEXT_PATTERN = r"^[^\x00]*$"
"""PostgreSQL stores no NUL character in text (nor, in UTF-8, a lone surrogate, which the
pattern's check refuses too: a string holding one is not Unicode text)."""


class StrictModel(BaseModel):
    """A request body (or a part of one): strict, finite numbers only."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False)


class Choice(StrEnum):
    """An enumeration taken as its JSON string, in strict models too (strict mode would ask
    for the Python member itself)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        schema: core_schema.CoreSchema = handler(source)
        return {**schema, "strict": False}


Id = Annotated[int, Field(ge=1, lt=MAX_ID + 1)]
"""A row id: 1 to 2^63-1. (Declared as below 2^63: the document's numbers pass through floats,
where 2^63-1 would round up to 2^63 and the document would admit one id too many.)"""

PathId = Annotated[Id, Path()]
"""A row id in the path: a larger number is a 422, not a database error."""

QueryId = Annotated[Id | None, Query()]
"""A row id filtering a list."""

Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
"""Free text: anything PostgreSQL can store. Give it its lengths where it is used."""


def _strict(info: ValidationInfo) -> bool:
    """JSON, or a strict model: only the string form is taken."""
    return info.mode == "json" or bool(info.config and info.config.get("strict"))


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str):
        if not _ISO_DAY.fullmatch(value):
            raise PydanticCustomError("date_format", "a date is a string YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_format", "not a day of the calendar") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if _strict(info) or isinstance(value, datetime):
        raise PydanticCustomError("date_type", "a date is a string YYYY-MM-DD")
    return value  # a Python object of a lax model (a response built from a row)


Day = Annotated[date, BeforeValidator(_iso_day)]
"""A calendar day, in JSON the string YYYY-MM-DD (never a number of seconds)."""


def decimal_text(pattern: str, what: str, example: str) -> tuple[Any, ...]:
    """The pieces of a decimal taken from a JSON string of ASCII digits matching ``pattern``:
    never a JSON number, which would pass through binary floating point, nor full-width digits,
    which Python's ``Decimal`` reads. Numeric ranges go in the field's ``Field(ge=, le=)``."""
    shape = re.compile(pattern)

    def parse(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            if not shape.fullmatch(value):
                raise PydanticCustomError("decimal_format", "{what}", {"what": what})
            return Decimal(value)
        if isinstance(value, Decimal) and value.is_finite():
            return value
        if _strict(info) or isinstance(value, (bool, Decimal)):
            raise PydanticCustomError("decimal_type", "{what}", {"what": what})
        return value  # a Python number of a lax model (a response built from a row)

    return (
        BeforeValidator(parse),
        WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]}),
    )


DECIMAL_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"

DecimalText = Annotated[
    Decimal, *decimal_text(DECIMAL_PATTERN, "a decimal string of ASCII digits, like 2 or 0.5", "2")
]
"""A non-negative decimal (a quantity, a rate) as a JSON string: "2", "0.85"."""
