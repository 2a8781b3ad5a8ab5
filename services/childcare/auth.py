"""Who may call the childcare API (API.md's table) as typed dependencies.

An operator is bound to one institution id, a reviewer to a region code (a county such as
"371602", or a township); an object outside that binding is answered 404, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.childcare.domain.filing import Role
from shared.auth import ClientKind, Principal, require_kinds
from shared.errors import Forbidden

ChildcareActor = Annotated[
    Principal,
    Depends(require_kinds(ClientKind.childcare_operator, ClientKind.childcare_reviewer)),
]
"""An operator, a reviewer or an admin."""

Reviewer = Annotated[Principal, Depends(require_kinds(ClientKind.childcare_reviewer))]
"""A reviewer (or an admin)."""

Operator = Annotated[Principal, Depends(require_kinds(ClientKind.childcare_operator))]
"""An operator (or an admin)."""


def role_of(principal: Principal) -> Role:
    if principal.is_admin:
        return Role.admin
    if principal.kind is ClientKind.childcare_operator:
        return Role.operator
    if principal.kind is ClientKind.childcare_reviewer:
        return Role.reviewer
    raise Forbidden("this call is for childcare operators and reviewers")


def sees_institution(principal: Principal, institution_id: int, region_code: str) -> bool:
    if principal.is_admin:
        return True
    if principal.kind is ClientKind.childcare_operator:
        return principal.bound == str(institution_id)
    if principal.kind is ClientKind.childcare_reviewer:
        return bool(principal.bound) and region_code.startswith(principal.bound or "")
    return False


def sees_region(principal: Principal, region_code: str) -> bool:
    """A reviewer's region contains ``region_code`` (a reviewer may not look wider)."""
    if principal.is_admin:
        return True
    return (
        principal.kind is ClientKind.childcare_reviewer
        and bool(principal.bound)
        and region_code.startswith(principal.bound or "")
    )
