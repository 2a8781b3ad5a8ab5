"""Cursor pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``.

The cursor encodes the sort key of the last row sent, so a page is one indexed range scan
(``where key > :last order by key limit :n``) however deep the client has paged.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel

from shared.errors import Unprocessable

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError):
        raise Unprocessable(
            "the cursor is not one this API gave out", field="query.cursor"
        ) from None


class PageParams(BaseModel):
    limit: int
    after: Any = None

    def page(self, rows: list[T], key: Any) -> tuple[list[T], str | None]:
        """Given ``limit + 1`` rows, the page and the cursor to the next one."""
        if len(rows) > self.limit:
            rows = rows[: self.limit]
            return rows, encode_cursor(key(rows[-1]))
        return rows, None


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


Pagination = Annotated[PageParams, Depends(_page_params)]
