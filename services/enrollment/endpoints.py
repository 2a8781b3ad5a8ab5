"""Routes of the enrollment API: thin, the rules live in :mod:`service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.enrollment import service
from services.enrollment.auth import EnrollmentStaff, PersonReader
from services.enrollment.repository import PersonRepository
from services.enrollment.schemas import PersonCreate, PersonListItem, PersonOut
from shared.db import DbSession
from shared.errors import problems
from shared.pagination import Page, Pagination

router = APIRouter(prefix="/enrollment/v1", tags=["persons"])


@router.post(
    "/persons",
    summary="Enroll a person",
    status_code=201,
    response_model=PersonOut,
    responses=problems(401, 403, 409, 422),
)
async def create_person(body: PersonCreate, session: DbSession, _: EnrollmentStaff) -> PersonOut:
    return service.person_out(await service.register_person(session, body))


@router.get(
    "/persons",
    summary="List persons (ID numbers masked)",
    response_model=Page[PersonListItem],
    responses=problems(401, 403, 422),
)
async def list_persons(
    session: DbSession,
    _: EnrollmentStaff,
    page: Pagination,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> Page[PersonListItem]:
    rows = await PersonRepository(session).page(page.after, page.limit + 1, region_code)
    rows, cursor = page.page(rows, key=lambda p: p.id)
    return Page(items=[PersonListItem.of(service.person_out(p)) for p in rows], next_cursor=cursor)


@router.get(
    "/persons/{person_id}",
    summary="Read a person",
    response_model=PersonOut,
    responses=problems(401, 403, 404),
)
async def get_person(person_id: int, session: DbSession, principal: PersonReader) -> PersonOut:
    return service.person_out(await service.get_visible_person(session, principal, person_id))
