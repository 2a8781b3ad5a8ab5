"""Routes of the childcare API: thin, the rules live in :mod:`service` and :mod:`supervision`."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from services.childcare import service, supervision
from services.childcare.auth import ChildcareActor, Operator, Reviewer, sees_region
from services.childcare.domain.filing import Action, State
from services.childcare.domain.institution import AgeGroup, Form, Nature, ServiceMode
from services.childcare.schemas import (
    BanCreate,
    BanFlagOut,
    BanOut,
    ChangeIn,
    ChildcareInstitutionCreate,
    ChildcareInstitutionOut,
    ChildcareInstitutionPatch,
    CreditOut,
    DemonstrationIn,
    DrawCheck,
    DrawCreate,
    DrawOut,
    FilingHistory,
    FilingOut,
    InspectionCreate,
    InspectionOut,
    InspectorCreate,
    InspectorOut,
    InstitutionListItem,
    OccupancyIn,
    PublicDraw,
    PublicInstitution,
    StaffCreate,
    StaffListItem,
    StaffOut,
    StaffPatch,
    StatsOut,
    TransitionIn,
)
from shared.auth import Admin
from shared.db import DbSession, ReadSession
from shared.errors import Forbidden, problems
from shared.money import Money
from shared.pagination import (
    NotOurCursor,
    Page,
    PageById,
    PageParams,
    encode_cursor,
    id_key,
    paging,
)
from shared.schemas import Day, PathId

router = APIRouter(prefix="/childcare/v1")
TAG_INSTITUTIONS: list[str | Enum] = ["childcare institutions"]
TAG_FILINGS: list[str | Enum] = ["childcare filings"]
TAG_STAFF: list[str | Enum] = ["childcare staff and bans"]
TAG_SUPERVISION: list[str | Enum] = ["childcare supervision"]
TAG_PUBLIC: list[str | Enum] = ["childcare disclosure"]


def _distance_and_id(value: object) -> tuple[float, int]:
    """The public search's key: the distance in metres, then the id."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int | float)
        and not isinstance(value[0], bool)
        and math.isfinite(value[0])
    ):
        return float(value[0]), id_key(value[1])
    raise NotOurCursor(value)


PageByDistance = Annotated[PageParams[tuple[float, int]], Depends(paging(_distance_and_id))]

# --- institutions ----------------------------------------------------------------------------


@router.post(
    "/institutions",
    operation_id="childcare_institutions_create",
    summary="Register a childcare institution (its filing starts as a draft)",
    status_code=201,
    response_model=ChildcareInstitutionOut,
    responses=problems(401, 403, 409, 422),
    tags=TAG_INSTITUTIONS,
)
async def create_institution(
    body: ChildcareInstitutionCreate, session: DbSession, principal: Admin
) -> ChildcareInstitutionOut:
    institution = await service.create_institution(session, body)
    _, filing = await service.visible_institution(session, principal, institution.id)
    return await service.institution_out(session, institution, filing, principal)


@router.get(
    "/institutions",
    operation_id="childcare_institutions_list",
    summary="List the institutions the caller may see",
    response_model=Page[InstitutionListItem],
    responses=problems(401, 403, 422),
    tags=TAG_INSTITUTIONS,
)
async def list_institutions(
    session: DbSession,
    principal: ChildcareActor,
    page: PageById,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
    state: Annotated[State | None, Query(description="Filing state")] = None,
) -> Page[InstitutionListItem]:
    rows = await service.list_institutions(
        session, principal, page.after, page.limit + 1, region_code, state
    )
    rows, cursor = page.page(rows, key=lambda r: r[0].id)
    return Page(
        items=[
            InstitutionListItem(
                id=inst.id,
                name=inst.name,
                form=Form(inst.form),
                nature=Nature(inst.nature),
                region_code=inst.region_code,
                state=State(filing.state),
                filing_number=filing.filing_number,
                demonstration=inst.demonstration,
            )
            for inst, filing in rows
        ],
        next_cursor=cursor,
    )


@router.get(
    "/institutions/{institution_id}",
    operation_id="childcare_institutions_get",
    summary="Read an institution and its filing",
    response_model=ChildcareInstitutionOut,
    responses=problems(401, 403, 404),
    tags=TAG_INSTITUTIONS,
)
async def get_institution(
    institution_id: PathId, session: DbSession, principal: ChildcareActor
) -> ChildcareInstitutionOut:
    institution, filing = await service.visible_institution(session, principal, institution_id)
    return await service.institution_out(session, institution, filing, principal)


@router.patch(
    "/institutions/{institution_id}",
    operation_id="childcare_institutions_update",
    summary="Edit the particulars while the filing is a draft or returned",
    response_model=ChildcareInstitutionOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=TAG_INSTITUTIONS,
)
async def edit_institution(
    institution_id: PathId, body: ChildcareInstitutionPatch, session: DbSession, principal: Operator
) -> ChildcareInstitutionOut:
    institution, filing = await service.edit_institution(session, principal, institution_id, body)
    return await service.institution_out(session, institution, filing, principal)


@router.put(
    "/institutions/{institution_id}/occupancy",
    operation_id="childcare_occupancy_set",
    summary="Report the children enrolled per age group (drives the public vacancy)",
    response_model=ChildcareInstitutionOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=TAG_INSTITUTIONS,
)
async def set_occupancy(
    institution_id: PathId, body: OccupancyIn, session: DbSession, principal: Operator
) -> ChildcareInstitutionOut:
    await service.set_occupancy(session, principal, institution_id, body.enrolled)
    institution, filing = await service.visible_institution(session, principal, institution_id)
    return await service.institution_out(session, institution, filing, principal)


@router.put(
    "/institutions/{institution_id}/demonstration",
    operation_id="childcare_demonstration_set",
    summary="Mark or unmark a demonstration institution (示范性托育机构)",
    response_model=ChildcareInstitutionOut,
    responses=problems(401, 403, 404, 422),
    tags=TAG_INSTITUTIONS,
)
async def set_demonstration(
    institution_id: PathId, body: DemonstrationIn, session: DbSession, principal: Admin
) -> ChildcareInstitutionOut:
    institution, filing = await service.visible_institution(session, principal, institution_id)
    institution.demonstration = body.demonstration
    await session.flush()
    return await service.institution_out(session, institution, filing, principal)


# --- filings ---------------------------------------------------------------------------------


@router.get(
    "/institutions/{institution_id}/filings",
    operation_id="filings_get",
    summary="The filing's current state, number and the caller's next actions",
    response_model=FilingOut,
    responses=problems(401, 403, 404),
    tags=TAG_FILINGS,
)
async def get_filing(
    institution_id: PathId, session: DbSession, principal: ChildcareActor
) -> FilingOut:
    _, filing = await service.visible_institution(session, principal, institution_id)
    return service.filing_out(filing, principal)


@router.get(
    "/institutions/{institution_id}/filings/history",
    operation_id="filings_history",
    summary="Every transition of the filing: who, when, why",
    response_model=FilingHistory,
    responses=problems(401, 403, 404),
    tags=TAG_FILINGS,
)
async def filing_history(
    institution_id: PathId, session: DbSession, principal: ChildcareActor
) -> FilingHistory:
    return await service.history(session, principal, institution_id)


_TRANSITION_DOCS: dict[Action, str] = {
    Action.submit: "Submit the draft filing (operator)",
    Action.return_: "Return the filing for correction, saying what to correct (county reviewer)",
    Action.resubmit: "Resubmit a returned filing after correcting it (operator)",
    Action.approve: "Approve the filing and issue its filing number (county reviewer)",
    Action.reject: "Reject the filing with reasons (county reviewer)",
    Action.suspend: "Suspend an approved filing, with the reason (county reviewer)",
    Action.reinstate: "Reinstate a suspended filing (county reviewer)",
    Action.deregister: "Deregister the institution (operator)",
}


_NO_REASON = TransitionIn()
"""A transition's body may be left out: no reason given."""


def _transition_route(
    action: Action,
) -> Callable[..., Awaitable[FilingOut]]:
    async def route(
        institution_id: PathId,
        session: DbSession,
        principal: ChildcareActor,
        body: Annotated[TransitionIn, Body()] = _NO_REASON,
    ) -> FilingOut:
        filing = await service.transition(session, principal, institution_id, action, body.reason)
        return service.filing_out(filing, principal)

    route.__name__ = f"filing_{action.name.rstrip('_')}"
    return route


for _action, _summary in _TRANSITION_DOCS.items():
    router.add_api_route(
        f"/institutions/{{institution_id}}/filings/{_action.value}",
        _transition_route(_action),
        methods=["POST"],
        summary=_summary,
        response_model=FilingOut,
        responses=problems(401, 403, 404, 409, 422),
        tags=TAG_FILINGS,
        operation_id=f"filings_{_action.name.rstrip('_')}",
    )


@router.post(
    "/institutions/{institution_id}/filings/change",
    operation_id="filings_change",
    summary="File a change of an approved institution's particulars (operator)",
    response_model=FilingOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=TAG_FILINGS,
)
async def filing_change(
    institution_id: PathId, body: ChangeIn, session: DbSession, principal: ChildcareActor
) -> FilingOut:
    filing = await service.transition(
        session, principal, institution_id, Action.change, body.reason, body.changes
    )
    return service.filing_out(filing, principal)


# --- staff and bans --------------------------------------------------------------------------


@router.post(
    "/institutions/{institution_id}/staff",
    operation_id="staff_hire",
    summary="Hire a member of staff (409 for someone on the lifetime ban list)",
    status_code=201,
    response_model=StaffOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=TAG_STAFF,
)
async def hire_staff(
    institution_id: PathId, body: StaffCreate, session: DbSession, principal: Operator
) -> StaffOut:
    staff = await service.hire(session, principal, institution_id, body)
    return service.staff_out(staff, service.today(), principal)


@router.get(
    "/institutions/{institution_id}/staff",
    operation_id="staff_list",
    summary="List staff (ID numbers masked); health_check_overdue=true lists overdue checks",
    response_model=Page[StaffListItem],
    responses=problems(401, 403, 404, 422),
    tags=TAG_STAFF,
)
async def list_staff(
    institution_id: PathId,
    session: DbSession,
    principal: ChildcareActor,
    page: PageById,
    health_check_overdue: bool = False,
    as_of: Annotated[Day | None, Query(description="Overdue as of this day (today)")] = None,
    current: Annotated[bool, Query(description="Only staff who have not left")] = True,
) -> Page[StaffListItem]:
    on = as_of or service.today()
    rows = await service.list_staff(
        session,
        principal,
        institution_id,
        page.after,
        page.limit + 1,
        on if health_check_overdue else None,
        current,
    )
    rows, cursor = page.page(rows, key=lambda s: s.id)
    return Page(items=[service.staff_list_item(s, on) for s in rows], next_cursor=cursor)


@router.get(
    "/institutions/{institution_id}/staff/{staff_id}",
    operation_id="staff_get",
    summary="Read one member of staff (ID number and phone as the personal-data policy says)",
    response_model=StaffOut,
    responses=problems(401, 403, 404),
    tags=TAG_STAFF,
)
async def get_staff(
    institution_id: PathId, staff_id: PathId, session: DbSession, principal: ChildcareActor
) -> StaffOut:
    staff = await service.visible_staff(session, principal, institution_id, staff_id)
    return service.staff_out(staff, service.today(), principal)


@router.patch(
    "/institutions/{institution_id}/staff/{staff_id}",
    operation_id="staff_update",
    summary="Record a health check, training, or leaving",
    response_model=StaffOut,
    responses=problems(401, 403, 404, 422),
    tags=TAG_STAFF,
)
async def edit_staff(
    institution_id: PathId,
    staff_id: PathId,
    body: StaffPatch,
    session: DbSession,
    principal: Operator,
) -> StaffOut:
    staff = await service.edit_staff(session, principal, institution_id, staff_id, body)
    await service.resolve_flags_on_leave(session, staff)
    return service.staff_out(staff, service.today(), principal)


@router.post(
    "/bans",
    operation_id="bans_create",
    summary="Add a person to the lifetime ban list; flags every institution employing them",
    status_code=201,
    response_model=BanOut,
    responses=problems(401, 403, 409, 422),
    tags=TAG_STAFF,
)
async def create_ban(body: BanCreate, session: DbSession, principal: Admin) -> BanOut:
    return await service.ban(session, principal, body)


@router.get(
    "/bans",
    operation_id="bans_list",
    summary="The lifetime ban list (ID numbers masked)",
    response_model=Page[BanOut],
    responses=problems(401, 403, 422),
    tags=TAG_STAFF,
)
async def list_bans(session: DbSession, _: Reviewer, page: PageById) -> Page[BanOut]:
    rows = await service.list_bans(session, page.after, page.limit + 1)
    rows, cursor = page.page(rows, key=lambda b: b.id)
    return Page(items=rows, next_cursor=cursor)


@router.get(
    "/ban-flags",
    operation_id="ban_flags_list",
    summary="Institutions employing a banned person (a reviewer sees its region)",
    response_model=Page[BanFlagOut],
    responses=problems(401, 403, 422),
    tags=TAG_STAFF,
)
async def list_ban_flags(
    session: DbSession,
    principal: Reviewer,
    page: PageById,
    open: Annotated[bool, Query(description="Only flags not yet resolved")] = False,
) -> Page[BanFlagOut]:
    rows = await service.list_ban_flags(session, principal, page.after, page.limit + 1, open)
    rows, cursor = page.page(rows, key=lambda f: f.id)
    return Page(items=rows, next_cursor=cursor)


# --- supervision -----------------------------------------------------------------------------


@router.post(
    "/inspectors",
    operation_id="inspectors_create",
    summary="Add an inspector to the pool the double-random draw picks from",
    status_code=201,
    response_model=InspectorOut,
    responses=problems(401, 403, 409, 422),
    tags=TAG_SUPERVISION,
)
async def create_inspector(body: InspectorCreate, session: DbSession, _: Admin) -> InspectorOut:
    return InspectorOut.model_validate(await supervision.create_inspector(session, body))


@router.get(
    "/inspectors",
    operation_id="inspectors_list",
    summary="List inspectors (a reviewer sees its region's)",
    response_model=Page[InspectorOut],
    responses=problems(401, 403),
    tags=TAG_SUPERVISION,
)
async def list_inspectors(
    session: DbSession,
    principal: Reviewer,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> Page[InspectorOut]:
    if not principal.is_admin:
        region_code = principal.bound
    rows = await supervision.list_inspectors(session, region_code)
    return Page(items=[InspectorOut.model_validate(r) for r in rows])


@router.post(
    "/institutions/{institution_id}/inspections",
    operation_id="inspections_create",
    summary="Record an inspection (city, county or township level) or a re-inspection",
    status_code=201,
    response_model=InspectionOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=TAG_SUPERVISION,
)
async def create_inspection(
    institution_id: PathId, body: InspectionCreate, session: DbSession, principal: Reviewer
) -> InspectionOut:
    inspection = await supervision.create_inspection(session, principal, institution_id, body)
    return supervision.inspection_out(inspection)


@router.get(
    "/institutions/{institution_id}/inspections",
    operation_id="inspections_list",
    summary="An institution's inspections, latest first",
    response_model=Page[InspectionOut],
    responses=problems(401, 403, 404),
    tags=TAG_SUPERVISION,
)
async def list_inspections(
    institution_id: PathId, session: DbSession, principal: ChildcareActor
) -> Page[InspectionOut]:
    rows = await supervision.list_inspections(session, principal, institution_id)
    return Page(items=[supervision.inspection_out(i) for i in rows])


@router.post(
    "/draws",
    operation_id="draws_create",
    summary="Make a double-random draw (双随机): institutions and inspectors of a region",
    status_code=201,
    response_model=DrawOut,
    responses=problems(401, 403, 422),
    tags=TAG_SUPERVISION,
)
async def create_draw(body: DrawCreate, session: DbSession, principal: Reviewer) -> DrawOut:
    return supervision.draw_out(await supervision.create_draw(session, principal, body))


@router.get(
    "/draws/{draw_id}",
    operation_id="draws_get",
    summary="Read a draw with its recorded seed",
    response_model=DrawOut,
    responses=problems(401, 403, 404),
    tags=TAG_SUPERVISION,
)
async def get_draw(draw_id: PathId, session: DbSession, principal: Reviewer) -> DrawOut:
    return supervision.draw_out(await supervision.visible_draw(session, principal, draw_id))


@router.get(
    "/draws/{draw_id}/check",
    operation_id="draws_check",
    summary="Re-run the draw from its recorded seed and candidates",
    response_model=DrawCheck,
    responses=problems(401, 403, 404),
    tags=TAG_SUPERVISION,
)
async def check_draw(draw_id: PathId, session: DbSession, principal: Reviewer) -> DrawCheck:
    return supervision.check_draw(await supervision.visible_draw(session, principal, draw_id))


@router.post(
    "/draws/{draw_id}/publish",
    operation_id="draws_publish",
    summary="Publish the draw (一公开)",
    response_model=DrawOut,
    responses=problems(401, 403, 404, 409),
    tags=TAG_SUPERVISION,
)
async def publish_draw(draw_id: PathId, session: DbSession, principal: Reviewer) -> DrawOut:
    return supervision.draw_out(await supervision.publish_draw(session, principal, draw_id))


@router.get(
    "/credit/ratings",
    operation_id="credit_ratings_list",
    summary="Credit ratings of filed institutions, from their inspections",
    response_model=Page[CreditOut],
    responses=problems(401, 403, 422),
    tags=TAG_SUPERVISION,
)
async def credit_ratings(
    session: DbSession,
    principal: Reviewer,
    region_code: Annotated[str | None, Query(pattern=r"^\d{4,12}$")] = None,
) -> Page[CreditOut]:
    region = region_code or (principal.bound if not principal.is_admin else "") or ""
    if not principal.is_admin and not sees_region(principal, region):
        raise Forbidden("a reviewer sees ratings in its own region")
    return Page(items=await supervision.credit_ratings(session, region))


@router.get(
    "/stats/counties",
    operation_id="county_stats_get",
    summary="Per-county progress against the 2023 and 2025 targets",
    response_model=StatsOut,
    responses=problems(401, 403),
    tags=TAG_SUPERVISION,
)
async def stats_counties(session: DbSession, _: Reviewer) -> StatsOut:
    return await supervision.county_stats(session)


# --- public ----------------------------------------------------------------------------------


@router.get(
    "/public/institutions",
    operation_id="public_institutions_search",
    summary="Approved institutions near a point, nearest first (no token)",
    response_model=Page[PublicInstitution],
    responses=problems(422),
    tags=TAG_PUBLIC,
)
async def public_institutions(
    session: ReadSession,
    page: PageByDistance,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    age_group: AgeGroup | None = None,
    service_mode: ServiceMode | None = None,
    vacancy: Annotated[bool, Query(description="Only with a free place")] = False,
    max_fee: Annotated[
        Money | None,
        Query(
            ge=0,
            le=1_000_000,
            description="Yuan: the service_mode's fee at most this, else a monthly fee",
        ),
    ] = None,
    radius_m: Annotated[int | None, Query(ge=1, le=200_000)] = None,
) -> Page[PublicInstitution]:
    items, keys = await supervision.public_search(
        session,
        lat=lat,
        lon=lon,
        age_group=age_group,
        service_mode=service_mode,
        vacancy=vacancy,
        max_fee=max_fee,
        radius_m=radius_m,
        after=page.after,
        limit=page.limit + 1,
    )
    cursor = None
    if len(items) > page.limit:
        items = items[: page.limit]
        cursor = encode_cursor(list(keys[page.limit - 1]))
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/public/draws",
    operation_id="public_draws_list",
    summary="Published double-random draws (no token)",
    response_model=Page[PublicDraw],
    responses=problems(422),
    tags=TAG_PUBLIC,
)
async def public_draws(
    session: DbSession,
    page: PageById,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> Page[PublicDraw]:
    rows = await supervision.public_draws(session, page.after, page.limit + 1, region_code)
    rows, cursor = page.page(rows, key=lambda d: d.id)
    return Page(items=rows, next_cursor=cursor)


def _credit_list_route(which: str) -> Callable[..., Awaitable[Page[CreditOut]]]:
    async def route(
        session: DbSession,
        region_code: Annotated[str | None, Query(pattern=r"^\d{4,12}$")] = None,
    ) -> Page[CreditOut]:
        ratings = await supervision.credit_ratings(session, region_code or "")
        return Page(items=supervision.credit_lists(ratings, which))

    route.__name__ = f"public_{which}_list"
    return route


for _which, _summary in (
    ("red", "The red list (红名单): clean inspection records (no token)"),
    ("black", "The black list (黑名单): rated D or a critical finding left open (no token)"),
):
    router.add_api_route(
        f"/public/credit/{_which}-list",
        _credit_list_route(_which),
        methods=["GET"],
        summary=_summary,
        response_model=Page[CreditOut],
        responses=problems(422),
        tags=TAG_PUBLIC,
        operation_id=f"public_{_which}_list",
    )
