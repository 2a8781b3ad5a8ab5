"""Who may call the enrollment API (API.md's table) as typed dependencies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from shared.auth import STAFF_KINDS, ClientKind, Principal, require_kinds
from shared.errors import NotFound

BEARER_SECURITY: dict[str, Any] = {"security": [{"HTTPBearer": []}]}

Admin = Annotated[Principal, Depends(require_kinds(ClientKind.admin))]

PersonReader = Annotated[
    Principal, Depends(require_kinds(ClientKind.admin, ClientKind.station, ClientKind.app))
]
"""Staff, or an app token (which then sees only its own person)."""

EnrollmentStaff = Annotated[Principal, Depends(require_kinds(ClientKind.admin, ClientKind.station))]

ELIGIBILITY_READERS = frozenset(
    {
        ClientKind.admin,
        ClientKind.station,
        ClientKind.app,
        ClientKind.institution,
        ClientKind.pharmacy,
    }
)
EligibilityReader = Annotated[Principal, Depends(require_kinds(*ELIGIBILITY_READERS))]
"""Staff, the places a person presents themselves at (any person), or the person's own app."""

VoucherResolver = Annotated[
    Principal,
    Depends(
        require_kinds(
            ClientKind.admin, ClientKind.station, ClientKind.institution, ClientKind.pharmacy
        )
    ),
]

AUDITED_KINDS = frozenset({*STAFF_KINDS, ClientKind.institution, ClientKind.pharmacy})
"""Clients whose reads and changes of a person's data go to the access log (PIPL)."""


def may_touch(principal: Principal, person_id: int) -> bool:
    """An app token touches only its own person."""
    return principal.kind is not ClientKind.app or principal.person_id == person_id


def ensure_may_touch(principal: Principal, person_id: int) -> None:
    """Anyone else's person is 404 to an app token, so IDs cannot be probed."""
    if not may_touch(principal, person_id):
        raise NotFound(f"person {person_id} not found")
