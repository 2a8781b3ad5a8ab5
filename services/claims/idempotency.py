"""Idempotency-Key handling: the same key and body answer the first response again.

The key row is inserted in the transaction that does the work, under a primary key, so two
concurrent requests with one key cannot both do it: the second waits on the first's insert and
then replays its committed answer.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from services.claims.models import IdempotencyKey
from shared.errors import Unprocessable

log = logging.getLogger("yibao.claims.idempotency")

PURGE_LOCK = (5_0002, 1)
"""Advisory lock (namespace, key) held by the one claims process purging at a time."""
PURGE_BATCH = 5_000

_KEY: dict[str, Any] = {
    "alias": "Idempotency-Key",
    "min_length": 1,
    "max_length": 200,
    "pattern": r"^[!-~]+$",
    "description": "A key unique to this operation; a retry sends the same key and body",
}

IdempotencyKeyHeader = Annotated[str, Header(**_KEY)]


class IdempotencyHeaders(BaseModel):
    """The header of a route that reads it by hand (:mod:`shared.handread`)."""

    key: str = Field(**_KEY)


REPLAYED = {"Idempotent-Replayed": "true"}
REPLAYED_DECLARATION: dict[str, Any] = {
    "headers": {
        "Idempotent-Replayed": {
            "description": "true on a retry's answer: the first answer to this key, again",
            "schema": {"type": "string", "enum": ["true"]},
        }
    }
}
"""The success ``responses=`` entry of a route taking an Idempotency-Key."""


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


_PURGE_BATCH = text(
    """
    DELETE FROM idempotency_keys WHERE (client_id, key) IN (
        SELECT client_id, key FROM idempotency_keys
         WHERE created_at < now() - make_interval(hours => :hours)
         LIMIT :batch FOR UPDATE SKIP LOCKED)
    """
)


async def purge_expired(
    engine: AsyncEngine, keep_hours: int, batch: int = PURGE_BATCH
) -> int | None:
    """Forget keys older than ``keep_hours`` in batches, each its own short transaction, so a
    backlog never holds locks or bloats one transaction. None when another process is at it
    (every claims replica runs this; a session-level advisory lock lets one work)."""
    purged = 0
    async with engine.connect() as conn:
        await conn.commit()  # leave autobegin's transaction: the lock outlives transactions
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:ns, :key)"), _lock())
        await conn.commit()
        if not got:
            return None
        try:
            while True:
                result = await conn.execute(_PURGE_BATCH, {"hours": keep_hours, "batch": batch})
                await conn.commit()
                deleted = int(result.rowcount or 0)
                purged += deleted
                if deleted < batch:
                    return purged
        finally:
            await _release(conn)


async def _release(conn: AsyncConnection) -> None:
    """Unlock on every path. A failed batch leaves its transaction aborted, where the unlock
    would fail too: roll back first; if even that fails, close the connection rather than
    return it to the pool still holding the lock (closing the session releases it)."""
    try:
        await conn.rollback()
        await conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), _lock())
        await conn.commit()
    except Exception:
        log.warning("could not release the purge lock; dropping the connection", exc_info=True)
        await conn.invalidate()


def _lock() -> dict[str, int]:
    return {"ns": PURGE_LOCK[0], "key": PURGE_LOCK[1]}


async def purge_and_report(engine: AsyncEngine, keep_hours: int) -> None:
    """One turn of each claims process's background purge (see ``app.py``)."""
    purged = await purge_expired(engine, keep_hours)
    if purged:
        log.info("purged %d idempotency keys older than %d h", purged, keep_hours)
