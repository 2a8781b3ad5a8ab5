"""Disabled API clients, whose still-valid tokens the gateway refuses.

Tokens are verified offline (a signature and an expiry), so disabling a client would otherwise
take effect only when its last token expires (``YIBAO_TOKEN_LIFETIME_SECONDS``, an hour). Every
gateway process keeps the disabled client IDs in memory, refreshed from the database every
``YIBAO_REVOCATION_REFRESH_SECONDS``; the process that disables a client knows at once. The
set stays small (clients disabled, not tokens), and the check is a set lookup per request.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from gateway.models import ApiClient
from shared.db import Database


class Revocations:
    def __init__(self) -> None:
        self.client_ids: frozenset[str] = frozenset()
        self._added: dict[str, float] = {}
        """Disabled here and not yet seen in the database, with when: a refresh that read
        before the disable committed must not forget them. Kept a minute at most, in case the
        disable's transaction never committed."""

    def __contains__(self, client_id: object) -> bool:
        return client_id in self.client_ids

    def add(self, client_id: str) -> None:
        self._added[client_id] = time.monotonic()
        self.client_ids = self.client_ids | {client_id}

    def remove(self, client_id: str) -> None:
        """Enabled again here: its tokens are accepted at once (elsewhere, at the next refresh)."""
        self._added.pop(client_id, None)
        self.client_ids = self.client_ids - {client_id}

    async def refresh(self, database: Database) -> None:
        async with database.read_sessions() as session:
            rows = frozenset(
                await session.scalars(
                    select(ApiClient.client_id).where(ApiClient.disabled_at.is_not(None))
                )
            )
        now = time.monotonic()
        self._added = {
            cid: at for cid, at in self._added.items() if cid not in rows and now - at < 60
        }
        self.client_ids = rows | frozenset(self._added)
