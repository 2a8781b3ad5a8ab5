"""Routes of the childcare API."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.dialects.postgresql import insert

from services.childcare.models import Institution
from services.childcare.schemas import InstitutionCreate, InstitutionOut
from shared.auth import Admin, AnyPrincipal, ClientKind
from shared.db import DbSession
from shared.errors import Conflict, NotFound, problems

router = APIRouter(prefix="/childcare/v1", tags=["institutions"])


@router.post(
    "/institutions",
    summary="Register a childcare institution",
    status_code=201,
    response_model=InstitutionOut,
    responses=problems(401, 403, 409, 422),
)
async def create_institution(
    body: InstitutionCreate, session: DbSession, _: Admin
) -> InstitutionOut:
    row = await session.scalar(
        insert(Institution)
        .values(**body.model_dump())
        .on_conflict_do_nothing(index_elements=[Institution.uscc])
        .returning(Institution)
    )
    if row is None:
        raise Conflict("an institution with this credit code is already registered")
    return InstitutionOut.model_validate(row)


@router.get(
    "/institutions/{institution_id}",
    summary="Read an institution",
    response_model=InstitutionOut,
    responses=problems(401, 404),
)
async def get_institution(
    institution_id: int, session: DbSession, principal: AnyPrincipal
) -> InstitutionOut:
    row = await session.get(Institution, institution_id)
    own = principal.kind is not ClientKind.childcare_operator or principal.bound == str(
        institution_id
    )
    if row is None or not own:
        raise NotFound(f"institution {institution_id} not found")
    return InstitutionOut.model_validate(row)
