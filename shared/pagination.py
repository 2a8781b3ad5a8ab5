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


def _is_scalar(value: object) -> bool:
    return isinstance(value, (int, str, float)) and not isinstance(value, bool)


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError):
        key = None
    # Only the shapes encode_cursor is given: a scalar or a flat list of scalars.
    if _is_scalar(key) or (isinstance(key, list) and key and all(_is_scalar(k) for k in key)):
        return key
    raise Unprocessable("the cursor is not one this API gave out", field="query.cursor")


class PageParams(BaseModel):
    limit: int
    after: Any = None

    @property
    def after_int(self) -> int | None:
        """The cursor's key as an integer (most lists page by id); 422 if it is not one."""
        if self.after is None:
            return None
        if isinstance(self.after, int) and not isinstance(self.after, bool):
            return self.after
        raise Unprocessable("the cursor is not one this list gave out", field="query.cursor")

    @property
    def after_str(self) -> str | None:
        if self.after is None:
            return None
        if isinstance(self.after, str):
            return self.after
        raise Unprocessable("the cursor is not one this list gave out", field="query.cursor")

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
