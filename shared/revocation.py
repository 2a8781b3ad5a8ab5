"""Disabled API clients, whose still-valid tokens every process refuses.

Tokens are verified offline (a signature and an expiry), so disabling a client would otherwise
take effect only when its last token expires (``YIBAO_TOKEN_LIFETIME_SECONDS``, an hour). Every
process keeps the disabled client IDs in memory and :class:`~shared.auth.TokenVerifier` refuses
their tokens; the set stays small (clients disabled, not tokens) and the check is a set lookup.

The gateway loads the set from its own database (``gateway/revocation.py``). The services
cannot read the gateway's schema, so they read it from the gateway's internal listener
(:data:`~shared.listeners.REVOCATIONS_PATH`, never published; the network policies let only
yibao's own pods reach it). The answer is a JWT signed with the token key, so a service takes a
list only from the gateway: whatever else answers at that address (a misrouted call, a pod
posing as the gateway) cannot hand it an empty one. Every process refreshes every
``YIBAO_REVOCATION_REFRESH_SECONDS``; one that cannot keeps the last list it had, logs when it
starts and stops failing, and reports the age of its list in ``/readyz`` (``degraded``, not
unready: the gateway being down must not take every service out of its load balancer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from shared.errors import ProblemError
from shared.listeners import REVOCATIONS_PATH

if TYPE_CHECKING:
    from shared.auth import TokenVerifier
    from shared.http import Upstream

log = logging.getLogger("yibao.revocation")

MEDIA_TYPE = "application/jwt"


class Revocations:
    """The disabled client IDs this process knows of, and how fresh that knowledge is."""

    def __init__(self) -> None:
        self.client_ids: frozenset[str] = frozenset()
        self.loaded_at: float | None = None
        self.failure: str | None = None
        """Why the last refresh failed, while refreshes fail."""

    def __contains__(self, client_id: object) -> bool:
        return client_id in self.client_ids

    def loaded(self, client_ids: Iterable[str]) -> None:
        self.client_ids = frozenset(client_ids)
        self.loaded_at = time.monotonic()
        if self.failure is not None:
            log.info("disabled clients refreshed again (%d)", len(self.client_ids))
            self.failure = None

    def failed(self, reason: str) -> None:
        if self.failure is None:
            age = "never loaded" if self.loaded_at is None else f"{self.age():.0f} s old"
            log.warning(
                "disabled clients not refreshed (%s); keeping the last list (%d, %s)",
                reason,
                len(self.client_ids),
                age,
            )
        self.failure = reason

    def age(self) -> float:
        return 0.0 if self.loaded_at is None else time.monotonic() - self.loaded_at

    def check(self) -> str:
        """The readiness check's text: ``ok`` while refreshes succeed."""
        if self.failure is None and self.loaded_at is not None:
            return "ok"
        if self.loaded_at is None:
            return f"never loaded: {self.failure or 'not yet'}"
        return f"stale, {self.age():.0f} s old: {self.failure}"


class RevocationFeed:
    """A service's refresh of :class:`Revocations` from the gateway."""

    def __init__(
        self, gateway: Upstream, verifier: TokenVerifier, revocations: Revocations
    ) -> None:
        self.gateway = gateway
        self.verifier = verifier
        self.revocations = revocations

    async def refresh(self) -> None:
        try:
            response = await self.gateway.get(REVOCATIONS_PATH)
        except ProblemError as exc:
            self.revocations.failed(exc.detail or exc.title)
            return
        if response.status_code != 200:
            self.revocations.failed(f"the gateway answered {response.status_code}")
            return
        try:
            client_ids = self.verifier.read_revocations(response.content.decode())
        except ValueError as exc:
            self.revocations.failed(str(exc))
            return
        self.revocations.loaded(client_ids)
