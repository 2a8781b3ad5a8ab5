"""Idempotency-Key handling: the same key and body answer the first response again.

The key row is inserted in the transaction that does the work, under a primary key, so two
concurrent requests with one key cannot both do it: the second waits on the first's insert and
then replays its committed answer.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.models import IdempotencyKey
from shared.errors import Unprocessable

IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A key unique to this operation; a retry sends the same key and body",
    ),
]

REPLAYED = {"Idempotent-Replayed": "true"}


def fingerprint(operation: str, body: Any) -> str:
    return hashlib.sha256(
        operation.encode() + b"\n" + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def replay(row: IdempotencyKey, request_hash: str) -> JSONResponse:
    if row.request_hash != request_hash:
        raise Unprocessable(
            "this Idempotency-Key was used with another request",
            field="header.Idempotency-Key",
        )
    return JSONResponse(row.response, status_code=row.status_code or 200, headers=REPLAYED)


async def seen(session: AsyncSession, client_id: str, key: str) -> IdempotencyKey | None:
    row: IdempotencyKey | None = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.client_id == client_id, IdempotencyKey.key == key
        )
    )
    return row


async def claim(
    session: AsyncSession, client_id: str, key: str, request_hash: str
) -> IdempotencyKey | None:
    """Take the key for this transaction; if another request holds it, that request's row."""
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(client_id=client_id, key=key, request_hash=request_hash)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if inserted is not None:
        return None
    # Read Committed: this statement sees the winner's committed row.
    row = await seen(session, client_id, key)
    assert row is not None
    return row


async def remember(
    session: AsyncSession, client_id: str, key: str, status_code: int, body: Any
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.client_id == client_id, IdempotencyKey.key == key)
        .values(status_code=status_code, response=body)
    )


async def purge(session: AsyncSession, keep_hours: int = 48) -> int:
    """Forget keys older than ``keep_hours`` (the contract promises at least 24 h).

    For a periodic job; not run on the request path, where a large delete would add latency.
    """
    result = await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < func.now() - text(f"interval '{int(keep_hours)} hours'")
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
