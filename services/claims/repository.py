"""Queries of the claims schema."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.policy import PolicyParameters
from services.claims.models import Accumulator, BenefitPolicy, Settlement

PERSON_LOCK_NAMESPACE = 5_0002
"""First key of the per-person advisory lock, so it cannot meet another service's locks."""

POLICY_CACHE_SECONDS = 10.0
"""How long a process trusts its list of versions. A new version is normally added ahead of its
effective date, so a few seconds' delay in seeing it changes no settlement."""

_parsed: dict[str, PolicyParameters] = {}
"""Parsed versions by code: a version is never edited once written."""
_versions: tuple[float, list[tuple[date, str]]] = (0.0, [])


def forget_policies() -> None:
    global _versions
    _versions = (0.0, [])


def policies_stale() -> bool:
    return time.monotonic() - _versions[0] > POLICY_CACHE_SECONDS


def remember_policies(rows: Iterable[tuple[date, str, Any]]) -> None:
    """Replace the cached list of versions with ``rows`` of (effective_from, code, parameters)."""
    global _versions
    versions = []
    for effective_from, code, parameters in rows:
        if code not in _parsed:
            _parsed[code] = PolicyParameters.model_validate(parameters)
        versions.append((effective_from, code))
    versions.sort(reverse=True)
    _versions = (time.monotonic(), versions)


def cached_policy(day: date) -> tuple[str, PolicyParameters] | None:
    for effective_from, code in _versions[1]:
        if effective_from <= day:
            return code, _parsed[code]
    return None


async def policy_in_force(session: AsyncSession, day: date) -> tuple[str, PolicyParameters] | None:
    if policies_stale():
        rows = await session.execute(
            select(BenefitPolicy.effective_from, BenefitPolicy.code, BenefitPolicy.parameters)
        )
        remember_policies((row[0], row[1], row[2]) for row in rows)
    return cached_policy(day)


async def lock_person(session: AsyncSession, person_id: int) -> None:
    """Serialise every change to one person's accumulators until this transaction ends.

    An advisory lock rather than SELECT … FOR UPDATE: a year's first settlement has no
    accumulator rows yet to lock.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:ns, :key)"),
        {"ns": PERSON_LOCK_NAMESPACE, "key": person_id % 2_147_483_647},
    )


async def accumulators(session: AsyncSession, person_id: int, year: int) -> dict[str, Decimal]:
    rows = await session.execute(
        select(Accumulator.pool, Accumulator.amount).where(
            Accumulator.person_id == person_id, Accumulator.year == year
        )
    )
    return {pool: amount for pool, amount in rows}


async def add_to_accumulators(
    session: AsyncSession, person_id: int, year: int, deltas: Mapping[str, Decimal], sign: int = 1
) -> None:
    if not deltas:
        return
    statement = insert(Accumulator).values(
        [
            {"person_id": person_id, "year": year, "pool": pool, "amount": sign * amount}
            for pool, amount in sorted(deltas.items())
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Accumulator.person_id, Accumulator.year, Accumulator.pool],
            set_={
                "amount": Accumulator.amount + statement.excluded.amount,
                "updated_at": func.now(),
            },
        )
    )


async def settlement(
    session: AsyncSession, settlement_id: int, *, for_update: bool = False
) -> Settlement | None:
    statement = select(Settlement).where(Settlement.id == settlement_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row: Settlement | None = await session.scalar(statement)
    return row


async def mark_reversed(session: AsyncSession, row: Settlement) -> None:
    await session.execute(
        update(Settlement)
        .where(Settlement.id == row.id, Settlement.service_date == row.service_date)
        .values(status="reversed", reversed_at=func.now())
    )


async def person_settlements(
    session: AsyncSession, person_id: int, before: int | None, limit: int
) -> list[Settlement]:
    statement = select(Settlement).where(Settlement.person_id == person_id)
    if before is not None:
        statement = statement.where(Settlement.id < before)
    return list(await session.scalars(statement.order_by(Settlement.id.desc()).limit(limit)))
