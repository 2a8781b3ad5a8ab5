"""Who may call the enrollment API (API.md's table) as typed dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import ClientKind, Principal, require_kinds

PersonReader = Annotated[
    Principal, Depends(require_kinds(ClientKind.admin, ClientKind.station, ClientKind.app))
]
"""Staff, or an app token (which then sees only its own person)."""

EnrollmentStaff = Annotated[Principal, Depends(require_kinds(ClientKind.admin, ClientKind.station))]
