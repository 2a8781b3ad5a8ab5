"""The access log: who read or changed which person's data, and when (个人信息保护法)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.auth import AUDITED_KINDS
from services.enrollment.models import AccessLogEntry
from shared.auth import Principal
from shared.context import request_id_var


def is_audited(principal: Principal) -> bool:
    return principal.kind in AUDITED_KINDS


def entry_values(principal: Principal, person_id: int, action: str) -> dict[str, object]:
    return {
        "person_id": person_id,
        "client_id": principal.client_id,
        "client_kind": principal.kind.value,
        "client_bound": principal.bound,
        "action": action,
        "request_id": request_id_var.get(),
    }


def log_fields(principal: Principal, action: str) -> tuple[str, str, str | None, str, str | None]:
    """The entry's fields for a statement that writes it itself (the hot path's CTEs)."""
    return (
        principal.client_id,
        principal.kind.value,
        principal.bound,
        action,
        request_id_var.get(),
    )


async def record(
    session: AsyncSession, principal: Principal, person_ids: Iterable[int], action: str
) -> None:
    """Written in the request's transaction: the log entry commits exactly when the access does."""
    if not is_audited(principal):
        return
    rows = [entry_values(principal, person_id, action) for person_id in dict.fromkeys(person_ids)]
    if rows:
        await session.execute(insert(AccessLogEntry), rows)
