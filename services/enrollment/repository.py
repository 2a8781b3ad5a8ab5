"""Queries on the enrollment tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.models import AccessLogEntry, Coverage, Person
from shared.db import HotConnection
from shared.deadline import statement_timeout


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def lock(self, person_id: int) -> Person | None:
        """The person, row-locked until the transaction ends: serialises changes to their periods."""
        return await self.session.scalar(
            select(Person).where(Person.id == person_id).with_for_update()
        )

    async def by_id_number(self, id_number: str) -> Person | None:
        return await self.session.scalar(select(Person).where(Person.id_number == id_number))

    async def lock_by_id_numbers(self, id_numbers: Sequence[str]) -> dict[str, Person]:
        rows = await self.session.scalars(
            select(Person)
            .where(Person.id_number.in_(id_numbers))
            .order_by(Person.id)  # one lock order for all batches: no deadlocks between them
            .with_for_update()
        )
        return {p.id_number: p for p in rows}

    async def page(
        self,
        after: int | None,
        limit: int,
        region_prefix: str | None,
        id_number: str | None = None,
    ) -> list[Person]:
        query = select(Person).order_by(Person.id).limit(limit)
        if after is not None:
            query = query.where(Person.id > after)
        if region_prefix:
            query = query.where(Person.region_code.startswith(region_prefix))
        if id_number:
            query = query.where(Person.id_number == id_number)
        return list(await self.session.scalars(query))


async def coverages_of(session: AsyncSession, person_ids: Sequence[int]) -> list[Coverage]:
    return list(
        await session.scalars(
            select(Coverage)
            .where(Coverage.person_id.in_(person_ids))
            .order_by(Coverage.person_id, Coverage.start_date)
        )
    )


# The eligibility read, on the hot path of every settlement: one statement, one round trip,
# every part an index range scan on person_id. The access-log entry, when the caller is audited,
# is written by the same statement (a data-modifying CTE), so auditing costs no extra round trip.
# ``target`` is the persons asked about and ``day`` the day asked, for one person (parameters) or
# for many at once (the batch: rows of ``target``, in the order asked by ``n``).
_ELIGIBILITY = """
WITH target AS ({target})
{log}
SELECT {keys}t.poverty, c.scheme, c.retired,
  (SELECT coalesce(json_agg(json_build_array(q.id, q.kind, q.disease_code, q.start_date,
                                             q.end_date) ORDER BY q.id), '[]')
     FROM qualifications q
    WHERE q.person_id = t.id AND q.cancelled_at IS NULL
      AND q.start_date <= {day} AND (q.end_date IS NULL OR q.end_date >= {day}))
    AS qualifications,
  (SELECT coalesce(json_agg(json_build_array(f.id, f.kind, f.destination_region, f.start_date,
                                             f.end_date) ORDER BY f.id), '[]')
     FROM offsite_filings f
    WHERE f.person_id = t.id AND f.cancelled_at IS NULL
      AND f.start_date <= {day} AND f.end_date >= {day}) AS offsite_filings
FROM target t
LEFT JOIN LATERAL (
  SELECT scheme, retired FROM coverages c
   WHERE c.person_id = t.id AND c.start_date <= {day}
     AND (c.end_date IS NULL OR c.end_date >= {day})
   ORDER BY c.start_date DESC LIMIT 1
) c ON true
"""
_ONE = {"target": "SELECT id, poverty FROM persons WHERE id = $1", "keys": "", "day": "$2"}
_ONE_LOG = """, logged AS (
  INSERT INTO access_log (person_id, client_id, client_kind, client_bound, action, request_id)
  SELECT id, $3, $4, $5, $6, $7 FROM target
)"""
ELIGIBILITY_PLAIN = _ELIGIBILITY.format(log="", **_ONE)
ELIGIBILITY_LOGGED = _ELIGIBILITY.format(log=_ONE_LOG, **_ONE)

# Persons that do not exist have no row. One statement and, when audited, one commit for all
# the entries, each with its own request ID when the question gave one.
_MANY = {
    "target": """
  SELECT a.n, a.day, a.request_id, p.id, p.poverty
    FROM unnest($1::bigint[], $2::date[], $3::text[]) WITH ORDINALITY
         AS a (person_id, day, request_id, n)
    JOIN persons p ON p.id = a.person_id
""",
    "keys": "t.n, t.request_id, ",
    "day": "t.day",
}
_MANY_LOG = """, logged AS (
  INSERT INTO access_log (person_id, client_id, client_kind, client_bound, action, request_id)
  SELECT id, $4, $5, $6, $7, coalesce(request_id, $8) FROM target ORDER BY n
)"""
ELIGIBILITY_BATCH_PLAIN = _ELIGIBILITY.format(log="", **_MANY)
ELIGIBILITY_BATCH_LOGGED = _ELIGIBILITY.format(log=_MANY_LOG, **_MANY)

_VOUCHER_PERSON = """
WITH target AS (SELECT id, name, id_number FROM persons WHERE id = $1),
logged AS (
  INSERT INTO access_log (person_id, client_id, client_kind, client_bound, action, request_id)
  SELECT id, $2, $3, $4, $5, $6 FROM target
)
SELECT id, name, id_number FROM target
"""

LogFields = tuple[str, str, str | None, str, str | None]
"""client_id, client_kind, client_bound, action, request_id of an access-log entry."""


def _json(value: Any) -> Any:
    # SQLAlchemy's asyncpg dialect decodes json itself; a raw connection hands over text.
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _eligibility_doc(
    person_id: int,
    day: date,
    poverty: bool,
    scheme: str | None,
    retired: bool | None,
    qualifications: Any,
    filings: Any,
) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "date": day.isoformat(),
        "eligible": scheme is not None,
        "scheme": scheme,
        "retired": bool(retired),
        "poverty": poverty,
        "qualifications": [
            {
                "qualification_id": q[0],
                "kind": q[1],
                "disease_code": q[2],
                "start_date": q[3],
                "end_date": q[4],
            }
            for q in _json(qualifications)
        ],
        "offsite_filings": [
            {
                "filing_id": f[0],
                "kind": f[1],
                "destination_region": f[2],
                "start_date": f[3],
                "end_date": f[4],
            }
            for f in _json(filings)
        ],
    }


class HotPath:
    """The reads on every settlement's path, on a plain asyncpg pool.

    Each is one statement in autocommit (atomic on its own, access-log entry included), with no
    ORM session around it: the session's BEGIN/COMMIT and object machinery cost ten times the
    query here. Everything else goes through :data:`shared.db.DbSession`. Waits are bounded by
    the request's deadline (a ``TimeoutError`` past it, answered 504).
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def eligibility(
        self, person_id: int, day: date, log: LogFields | None
    ) -> dict[str, Any] | None:
        """The eligibility document as a plain dict (serialised as is), or None for no person."""
        async with HotConnection(self.pool) as conn:
            if log is None:
                row = await conn.fetchrow(
                    ELIGIBILITY_PLAIN, person_id, day, timeout=statement_timeout()
                )
            else:
                row = await conn.fetchrow(
                    ELIGIBILITY_LOGGED, person_id, day, *log, timeout=statement_timeout()
                )
        return None if row is None else _eligibility_doc(person_id, day, *row)

    async def eligibility_batch(
        self, asked: Sequence[tuple[int, date, str | None]], log: LogFields | None
    ) -> list[dict[str, Any] | None]:
        """The documents of :meth:`eligibility` for many (person, day, request ID) in the order
        asked (None for no such person). An entry's request ID, when given, is the one logged."""
        columns = [list(column) for column in zip(*asked, strict=True)]
        async with HotConnection(self.pool) as conn:
            if log is None:
                rows = await conn.fetch(
                    ELIGIBILITY_BATCH_PLAIN, *columns, timeout=statement_timeout()
                )
            else:
                rows = await conn.fetch(
                    ELIGIBILITY_BATCH_LOGGED, *columns, *log, timeout=statement_timeout()
                )
        found: list[dict[str, Any] | None] = [None] * len(asked)
        for n, _request_id, *rest in rows:
            person_id, day, _ = asked[n - 1]
            found[n - 1] = _eligibility_doc(person_id, day, *rest)
        return found

    async def voucher_person(self, person_id: int, log: LogFields) -> tuple[int, str, str] | None:
        """(id, name, ID number) of the person a voucher names, logging the read."""
        async with HotConnection(self.pool) as conn:
            row = await conn.fetchrow(_VOUCHER_PERSON, person_id, *log, timeout=statement_timeout())
        return None if row is None else (row[0], row[1], row[2])


async def access_log_page(
    session: AsyncSession,
    before: int | None,
    limit: int,
    person_id: int | None,
    client_id: str | None,
) -> list[AccessLogEntry]:
    """Newest first."""
    query = select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AccessLogEntry.id < before)
    if person_id is not None:
        query = query.where(AccessLogEntry.person_id == person_id)
    if client_id is not None:
        query = query.where(AccessLogEntry.client_id == client_id)
    return list(await session.scalars(query))
