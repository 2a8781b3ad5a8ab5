"""Cursor pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``.

The cursor encodes the sort key of the last row sent, so a page is one indexed range scan
(``where key > :last order by key limit :n``) however deep the client has paged. A list pages
by one kind of key (:data:`PageById`, :data:`PageByCode`, or its own through :func:`paging`):
a cursor that does not decode to that kind is a 422 naming ``query.cursor``, never a query
that fails in the database.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.errors import Unprocessable
from shared.schemas import MAX_ID

T = TypeVar("T")
K = TypeVar("K")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"
"""Unpadded base64url, as :func:`encode_cursor` writes it."""


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` asks for the next (null: this is the last)."""

    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page")


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


class NotOurCursor(ValueError):
    """The cursor is not one this list gave out."""


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return orjson.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise NotOurCursor(cursor) from None


@dataclass(frozen=True, slots=True)
class PageParams(Generic[K]):
    limit: int
    after: K | None = None

    def page(self, rows: list[T], key: Callable[[T], Any]) -> tuple[list[T], str | None]:
        """Given ``limit + 1`` rows, the page and the cursor to the next one."""
        if len(rows) > self.limit:
            rows = rows[: self.limit]
            return rows, encode_cursor(key(rows[-1]))
        return rows, None


def paging(key: Callable[[Any], K]) -> Callable[..., PageParams[K]]:
    """The dependency reading ``?limit=&cursor=`` for a list whose cursor ``key`` checks (it
    raises :class:`NotOurCursor` for a key of another shape, and returns it typed)."""

    def params(
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="Items per page")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page"),
        ] = None,
    ) -> PageParams[K]:
        if cursor is None:
            return PageParams(limit)
        try:
            after = key(decode_cursor(cursor))
        except NotOurCursor:
            raise Unprocessable(
                "the cursor is not one this list gave out", field="query.cursor"
            ) from None
        return PageParams(limit, after)

    return params


def id_key(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    raise NotOurCursor(value)


def code_key(value: Any) -> str:
    if isinstance(value, str) and 0 < len(value) <= 200 and "\x00" not in value:
        return value
    raise NotOurCursor(value)


PageById = Annotated[PageParams[int], Depends(paging(id_key))]
"""A list in id order."""

PageByCode = Annotated[PageParams[str], Depends(paging(code_key))]
"""A list in the order of a text code (drug, institution, region, client id)."""
