"""Routes of the claims API."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from services.claims.models import BenefitPolicy
from services.claims.schemas import PolicyOut
from shared.db import DbSession
from shared.errors import problems

router = APIRouter(prefix="/claims/v1", tags=["policies"])


@router.get(
    "/policies",
    summary="Benefit policy versions, oldest first",
    response_model=list[PolicyOut],
    responses=problems(422),
)
async def list_policies(session: DbSession) -> list[PolicyOut]:
    rows = await session.scalars(select(BenefitPolicy).order_by(BenefitPolicy.effective_from))
    return [PolicyOut.model_validate(row) for row in rows]
