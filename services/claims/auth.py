"""Who may call the claims API (API.md's table) as typed dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import ClientKind, Principal, require_kinds
from shared.errors import Forbidden, NotFound

Settler = Annotated[Principal, Depends(require_kinds(ClientKind.institution, ClientKind.pharmacy))]
"""Hospitals and pharmacies at their own institution (and bureau staff anywhere)."""

SettlementReader = Annotated[
    Principal,
    Depends(
        require_kinds(
            ClientKind.station, ClientKind.app, ClientKind.institution, ClientKind.pharmacy
        )
    ),
]
"""Staff; the person's own app; the institution that settled it."""

PersonReader = Annotated[Principal, Depends(require_kinds(ClientKind.station, ClientKind.app))]
"""Staff, or an app token for its own person."""


def ensure_at_own_institution(principal: Principal, institution_code: str) -> None:
    """A hospital or pharmacy client acts only at the institution it is bound to."""
    if principal.kind in (ClientKind.institution, ClientKind.pharmacy) and (
        principal.bound != institution_code
    ):
        raise Forbidden(f"this client acts for {principal.bound}, not for {institution_code}")


def ensure_may_read_person(principal: Principal, person_id: int) -> None:
    if principal.kind is ClientKind.app and principal.person_id != person_id:
        raise NotFound(f"person {person_id} not found")


def ensure_may_read_settlement(
    principal: Principal, settlement_id: int, person_id: int, institution_code: str
) -> None:
    """Someone else's settlement is a 404, so IDs cannot be probed."""
    hidden = (principal.kind is ClientKind.app and principal.person_id != person_id) or (
        principal.kind in (ClientKind.institution, ClientKind.pharmacy)
        and principal.bound != institution_code
    )
    if hidden:
        raise NotFound(f"settlement {settlement_id} not found")


ClaimSubmitter = Annotated[Principal, Depends(require_kinds(ClientKind.station, ClientKind.app))]
"""Stations on a person's behalf, the person's own app, bureau staff."""
