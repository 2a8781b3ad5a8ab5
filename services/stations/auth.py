"""Who may call the stations API (API.md's table) as typed dependencies.

Reads of stations, institutions, coverage and the pharmacy search are public (no token).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth import ClientKind, Principal, require_kinds
from shared.errors import Forbidden

StationsAdmin = Annotated[Principal, Depends(require_kinds(ClientKind.admin))]

PharmacyClient = Annotated[Principal, Depends(require_kinds(ClientKind.pharmacy))]
"""A pharmacy (its own inventory only, checked against the path) or admin."""

StationClient = Annotated[Principal, Depends(require_kinds(ClientKind.station))]
"""A station (its own queue and records only) or admin."""


def _person_app(
    principal: Principal = Depends(require_kinds(ClientKind.app)),
) -> Principal:
    if principal.person_id is None:
        raise Forbidden("this call needs an app token acting for a person")
    return principal


PersonApp = Annotated[Principal, Depends(_person_app)]
"""An app token acting for one person."""

VideoParty = Annotated[Principal, Depends(require_kinds(ClientKind.app, ClientKind.station))]
"""The person who asked, the station asked, or admin (visibility checked per request)."""


def owns_pharmacy(principal: Principal, code: str) -> bool:
    return principal.is_admin or (principal.kind is ClientKind.pharmacy and principal.bound == code)


def owns_station(principal: Principal, station_id: int) -> bool:
    return principal.is_admin or (
        principal.kind is ClientKind.station and principal.bound == str(station_id)
    )
