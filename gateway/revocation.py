"""The gateway's side of revocation (see :mod:`shared.revocation`): the disabled clients read
from its database, for its own token checks and for the list the services read."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ApiClient
from shared.db import Database
from shared.revocation import Revocations


async def disabled_client_ids(session: AsyncSession) -> frozenset[str]:
    return frozenset(
        await session.scalars(select(ApiClient.client_id).where(ApiClient.disabled_at.is_not(None)))
    )


class DatabaseRevocations(Revocations):
    """The process that disables a client refuses it at once; the others on their refresh."""

    def __init__(self) -> None:
        super().__init__()
        self._added: dict[str, float] = {}
        """Disabled here and not yet seen in the database, with when: a refresh that read
        before the disable committed must not forget them. Kept a minute at most, in case the
        disable's transaction never committed."""

    def add(self, client_id: str) -> None:
        self._added[client_id] = time.monotonic()
        self.client_ids = self.client_ids | {client_id}

    def remove(self, client_id: str) -> None:
        """Enabled again here: its tokens are accepted at once (elsewhere, at the next refresh)."""
        self._added.pop(client_id, None)
        self.client_ids = self.client_ids - {client_id}

    async def refresh(self, database: Database) -> None:
        try:
            async with database.read_sessions() as session:
                rows = await disabled_client_ids(session)
        except Exception as exc:  # any failure keeps the last list; readiness reports it
            self.failed(f"database: {type(exc).__name__}")
            return
        now = time.monotonic()
        self._added = {
            cid: at for cid, at in self._added.items() if cid not in rows and now - at < 60
        }
        self.loaded(rows | frozenset(self._added))
