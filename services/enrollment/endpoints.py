"""Routes of the enrollment API: thin, the rules live in :mod:`service`."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Annotated, Any

import orjson
import segno
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.enrollment import access, service
from services.enrollment.auth import (
    BEARER_SECURITY,
    ELIGIBILITY_READERS,
    Admin,
    EnrollmentStaff,
    PersonReader,
    VoucherResolver,
    ensure_may_touch,
)
from services.enrollment.domain.transfers import TransferAction
from services.enrollment.repository import HotPath, PersonRepository, access_log_page
from services.enrollment.schemas import (
    AccessLogItem,
    Cancellation,
    ContributionCreate,
    ContributionOut,
    CoverageCreate,
    CoverageEnd,
    CoverageOut,
    Eligibility,
    EligibilityBatch,
    EligibilityBatchRequest,
    EmployerCreate,
    EmployerOut,
    GovernmentBatchCreate,
    GovernmentBatchOut,
    OffsiteFilingCreate,
    OffsiteFilingOut,
    PersonCreate,
    PersonListItem,
    PersonOut,
    QualificationCreate,
    QualificationOut,
    StaffChangeResult,
    StaffChanges,
    TransferCreate,
    TransferOut,
    TransferReject,
    VoucherCode,
    VoucherResolve,
    VoucherResolved,
)
from shared.auth import Principal, authorize
from shared.db import DbSession
from shared.errors import NotFound, Unprocessable, problems
from shared.pagination import Page, Pagination
from shared.validators import USCC, IdNumber

router = APIRouter(prefix="/enrollment/v1")


def _hot_path(request: Request) -> HotPath:
    """The plain asyncpg pool of the settlement path's reads (see :class:`HotPath`)."""
    hot: HotPath = request.app.state.hot_path
    return hot


_MAX_ID = 2**63 - 1
PersonId = Annotated[int, Path(ge=1, le=_MAX_ID, description="The person's id")]
RowId = Annotated[int, Path(ge=1, le=_MAX_ID)]
"""Ids are bigint: a larger number is a 422, not a database error."""

# --- the settlement path: eligibility and voucher resolution ----------------------------------
# First in the router: requests are matched against the routes in order. The app serves
# get_eligibility past the router (shared.fastlane).


_ELIGIBILITY_OPENAPI: dict[str, Any] = {
    **BEARER_SECURITY,
    "parameters": [
        {
            "name": "person_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": _MAX_ID},
            "description": "The person's id",
        },
        {
            "name": "date",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date", "examples": ["2024-06-01"]},
            "description": "The day asked about; default today (China Standard Time)",
        },
    ],
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@router.get(
    "/persons/{person_id}/eligibility",
    summary="Is the person covered on a date, and with which approvals and filings",
    response_model=Eligibility,
    responses=problems(401, 403, 404, 422),
    tags=["eligibility"],
    openapi_extra=_ELIGIBILITY_OPENAPI,
)
async def get_eligibility(request: Request) -> Any:
    """Who may ask: :data:`~services.enrollment.auth.EligibilityReader`.

    On every settlement's path, so its parameters are read by hand (declared for the OpenAPI
    document above): FastAPI's per-parameter machinery cost more than the query itself.
    """
    principal = authorize(request, ELIGIBILITY_READERS)
    raw_id = request.path_params["person_id"]
    if not (raw_id.isascii() and raw_id.isdigit()) or not 1 <= int(raw_id) <= _MAX_ID:
        raise Unprocessable(
            f"a person id is an integer from 1 to {_MAX_ID}", field="path.person_id"
        )
    raw_day = request.query_params.get("date")
    day = service.today()
    if raw_day is not None:
        try:
            if not _ISO_DATE.match(raw_day):
                raise ValueError(raw_day)
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise Unprocessable("a date is YYYY-MM-DD", field="query.date") from None
    answer = await service.eligibility(_hot_path(request), principal, int(raw_id), day)
    # The dict is serialised as is, without a second model pass.
    return Response(orjson.dumps(answer), media_type="application/json")


@router.post(
    "/eligibility/batch",
    summary="Eligibility of many persons at once, each on its own date",
    response_model=EligibilityBatch,
    responses=problems(401, 403, 422),
    tags=["eligibility"],
    openapi_extra=BEARER_SECURITY,
)
async def get_eligibility_batch(body: EligibilityBatchRequest, request: Request) -> Any:
    """Who may ask: as for one person's eligibility. Answers come in the order asked, each with
    its own status (404 for a person that does not exist or that this client may not see), and
    each audited read is logged as it would be alone."""
    principal = authorize(request, ELIGIBILITY_READERS)
    asked = [(item.person_id, item.date, item.request_id) for item in body.items]
    answers = await service.eligibility_batch(_hot_path(request), principal, asked)
    return Response(orjson.dumps({"items": answers}), media_type="application/json")


@router.post(
    "/voucher-codes/resolve",
    summary="Resolve a scanned voucher code to its person",
    response_model=VoucherResolved,
    responses=problems(401, 403, 422),
    tags=["voucher codes"],
    openapi_extra=BEARER_SECURITY,
)
async def resolve_voucher_code(
    body: VoucherResolve, request: Request, principal: VoucherResolver
) -> VoucherResolved:
    return await service.resolve_voucher(
        _hot_path(request), principal, _voucher_key(request), body.code
    )


# --- persons ---------------------------------------------------------------------------------


@router.post(
    "/persons",
    summary="Enroll a person",
    status_code=201,
    response_model=PersonOut,
    responses=problems(401, 403, 409, 422),
    tags=["persons"],
)
async def create_person(
    body: PersonCreate, session: DbSession, principal: EnrollmentStaff
) -> PersonOut:
    person = await service.register_person(session, body)
    await access.record(session, principal, [person.id], "person.create")
    return service.person_out(person, principal)


@router.get(
    "/persons",
    summary="List persons, or look one up by ID number (ID numbers masked)",
    response_model=Page[PersonListItem],
    responses=problems(401, 403, 422),
    tags=["persons"],
)
async def list_persons(
    session: DbSession,
    principal: EnrollmentStaff,
    page: Pagination,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
    id_number: Annotated[IdNumber | None, Query(description="Exact ID number (lookup)")] = None,
) -> Page[PersonListItem]:
    rows = await PersonRepository(session).page(page.after, page.limit + 1, region_code, id_number)
    rows, cursor = page.page(rows, key=lambda p: p.id)
    action = "person.lookup" if id_number else "person.list"
    await access.record(session, principal, [p.id for p in rows], action)
    return Page(items=[service.person_list_item(p) for p in rows], next_cursor=cursor)


@router.get(
    "/persons/{person_id}",
    summary="Read a person",
    response_model=PersonOut,
    responses=problems(401, 403, 404),
    tags=["persons"],
)
async def get_person(person_id: PersonId, session: DbSession, principal: PersonReader) -> PersonOut:
    person = await service.get_visible_person(session, principal, person_id)
    await access.record(session, principal, [person_id], "person.read")
    return service.person_out(person, principal)


# --- coverage --------------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/coverages",
    summary="Add a coverage period",
    status_code=201,
    response_model=CoverageOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["coverage"],
)
async def create_coverage(
    person_id: PersonId, body: CoverageCreate, session: DbSession, principal: EnrollmentStaff
) -> CoverageOut:
    return service.coverage_out(await service.add_coverage(session, principal, person_id, body))


@router.get(
    "/persons/{person_id}/coverages",
    summary="A person's coverage periods",
    response_model=list[CoverageOut],
    responses=problems(401, 403, 404),
    tags=["coverage"],
)
async def list_coverages(
    person_id: PersonId, session: DbSession, principal: PersonReader
) -> list[CoverageOut]:
    rows = await service.list_coverages(session, principal, person_id)
    return [service.coverage_out(r) for r in rows]


@router.patch(
    "/persons/{person_id}/coverages/{coverage_id}",
    summary="End (or move the end of) a coverage period",
    response_model=CoverageOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["coverage"],
)
async def end_coverage(
    person_id: PersonId,
    coverage_id: RowId,
    body: CoverageEnd,
    session: DbSession,
    principal: EnrollmentStaff,
) -> CoverageOut:
    row = await service.end_coverage(session, principal, person_id, coverage_id, body.end_date)
    return service.coverage_out(row)


# --- qualifications --------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/qualifications",
    summary="Approve a chronic-disease or two-disease qualification",
    status_code=201,
    response_model=QualificationOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["qualifications"],
)
async def create_qualification(
    person_id: PersonId, body: QualificationCreate, session: DbSession, principal: EnrollmentStaff
) -> QualificationOut:
    row = await service.add_qualification(session, principal, person_id, body)
    return service.qualification_out(row)


@router.get(
    "/persons/{person_id}/qualifications",
    summary="A person's qualifications, cancelled ones included",
    response_model=list[QualificationOut],
    responses=problems(401, 403, 404),
    tags=["qualifications"],
)
async def list_qualifications(
    person_id: PersonId, session: DbSession, principal: PersonReader
) -> list[QualificationOut]:
    rows = await service.list_qualifications(session, principal, person_id)
    return [service.qualification_out(r) for r in rows]


@router.post(
    "/persons/{person_id}/qualifications/{qualification_id}/cancel",
    summary="Cancel a qualification",
    response_model=QualificationOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["qualifications"],
)
async def cancel_qualification(
    person_id: PersonId,
    qualification_id: RowId,
    body: Cancellation,
    session: DbSession,
    principal: EnrollmentStaff,
) -> QualificationOut:
    row = await service.cancel_qualification(
        session, principal, person_id, qualification_id, body.reason
    )
    return service.qualification_out(row)


# --- off-site filings ------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/offsite-filings",
    summary="File for off-site medical treatment (staff, or the person's own app)",
    status_code=201,
    response_model=OffsiteFilingOut,
    responses=problems(401, 403, 404, 422),
    tags=["offsite filings"],
)
async def create_filing(
    person_id: PersonId, body: OffsiteFilingCreate, session: DbSession, principal: PersonReader
) -> OffsiteFilingOut:
    return service.filing_out(await service.add_filing(session, principal, person_id, body))


@router.get(
    "/persons/{person_id}/offsite-filings",
    summary="A person's off-site filings, cancelled ones included",
    response_model=list[OffsiteFilingOut],
    responses=problems(401, 403, 404),
    tags=["offsite filings"],
)
async def list_filings(
    person_id: PersonId, session: DbSession, principal: PersonReader
) -> list[OffsiteFilingOut]:
    return [
        service.filing_out(r) for r in await service.list_filings(session, principal, person_id)
    ]


@router.post(
    "/persons/{person_id}/offsite-filings/{filing_id}/cancel",
    summary="Cancel an off-site filing (staff, or the person's own app)",
    response_model=OffsiteFilingOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["offsite filings"],
)
async def cancel_filing(
    person_id: PersonId,
    filing_id: RowId,
    body: Cancellation,
    session: DbSession,
    principal: PersonReader,
) -> OffsiteFilingOut:
    row = await service.cancel_filing(session, principal, person_id, filing_id, body.reason)
    return service.filing_out(row)


# --- voucher codes ---------------------------------------------------------------------------


def _voucher_key(request: Request) -> bytes:
    key: bytes = request.app.state.voucher_key
    return key


@router.post(
    "/persons/{person_id}/voucher-codes",
    summary="Make a short-lived electronic voucher code (医保码) for the person",
    status_code=201,
    response_model=VoucherCode,
    responses=problems(401, 403, 404),
    tags=["voucher codes"],
)
async def create_voucher_code(
    person_id: PersonId, request: Request, session: DbSession, principal: PersonReader
) -> VoucherCode:
    return await service.issue_voucher(
        session, principal, person_id, _voucher_key(request), request.app.state.voucher_lifetime
    )


def _qr(request: Request, person_id: PersonId, code: str, principal: Principal) -> segno.QRCode:
    ensure_may_touch(principal, person_id)
    found = service.check_voucher(_voucher_key(request), code, field="path.code")
    if found.person_id != person_id:
        raise NotFound("no such voucher code for this person")
    return segno.make_qr(code, error="m")


@router.get(
    "/persons/{person_id}/voucher-codes/{code}.svg",
    summary="The voucher code as an SVG QR image",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The QR code"},
        **problems(401, 403, 404, 422),
    },
    tags=["voucher codes"],
)
async def voucher_svg(
    person_id: PersonId, code: str, request: Request, principal: PersonReader
) -> Response:
    out = io.BytesIO()
    _qr(request, person_id, code, principal).save(out, kind="svg", scale=4, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.get(
    "/persons/{person_id}/voucher-codes/{code}.png",
    summary="The voucher code as a PNG QR image",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The QR code"},
        **problems(401, 403, 404, 422),
    },
    tags=["voucher codes"],
)
async def voucher_png(
    person_id: PersonId, code: str, request: Request, principal: PersonReader
) -> Response:
    out = io.BytesIO()
    _qr(request, person_id, code, principal).save(out, kind="png", scale=6, border=2)
    return Response(out.getvalue(), media_type="image/png")


# --- employers -------------------------------------------------------------------------------


@router.post(
    "/employers",
    summary="Register an employer",
    status_code=201,
    response_model=EmployerOut,
    responses=problems(401, 403, 409, 422),
    tags=["employers"],
)
async def create_employer(
    body: EmployerCreate, session: DbSession, _: EnrollmentStaff
) -> EmployerOut:
    return service.employer_out(await service.register_employer(session, body))


@router.get(
    "/employers/{uscc}",
    summary="Read an employer",
    response_model=EmployerOut,
    responses=problems(401, 403, 404, 422),
    tags=["employers"],
)
async def get_employer(uscc: USCC, session: DbSession, _: EnrollmentStaff) -> EmployerOut:
    return service.employer_out(await service.get_employer(session, uscc))


@router.post(
    "/employers/{uscc}/staff-changes",
    summary="Add and remove staff in one batch: all rows or none",
    response_model=StaffChangeResult,
    responses=problems(401, 403, 404, 409, 422),
    tags=["employers"],
)
async def staff_changes(
    uscc: USCC, body: StaffChanges, session: DbSession, principal: EnrollmentStaff
) -> StaffChangeResult:
    return await service.apply_staff_changes(session, principal, uscc, body)


# --- contributions ---------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/contributions",
    summary="Record a contribution paid for the person",
    status_code=201,
    response_model=ContributionOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["contributions"],
)
async def create_contribution(
    person_id: PersonId, body: ContributionCreate, session: DbSession, principal: EnrollmentStaff
) -> ContributionOut:
    row = await service.add_contribution(session, principal, person_id, body)
    return service.contribution_out(row)


@router.get(
    "/persons/{person_id}/contributions",
    summary="The person's payment history, newest year first",
    response_model=list[ContributionOut],
    responses=problems(401, 403, 404),
    tags=["contributions"],
)
async def list_contributions(
    person_id: PersonId, session: DbSession, principal: PersonReader
) -> list[ContributionOut]:
    rows = await service.contribution_history(session, principal, person_id)
    return [service.contribution_out(r) for r in rows]


@router.post(
    "/contributions/government-batches",
    summary="Government-paid contributions (财政代缴) for every poverty person of a year",
    status_code=201,
    response_model=GovernmentBatchOut,
    responses=problems(401, 403, 422),
    tags=["contributions"],
)
async def create_government_batch(
    body: GovernmentBatchCreate, session: DbSession, principal: Admin
) -> GovernmentBatchOut:
    return await service.government_batch(session, principal, body)


# --- transfers -------------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/transfers",
    summary="Request a transfer of the insurance relationship into or out of the city",
    status_code=201,
    response_model=TransferOut,
    responses=problems(401, 403, 404, 422),
    tags=["transfers"],
)
async def create_transfer(
    person_id: PersonId, body: TransferCreate, session: DbSession, principal: EnrollmentStaff
) -> TransferOut:
    return service.transfer_out(await service.request_transfer(session, principal, person_id, body))


@router.get(
    "/persons/{person_id}/transfers",
    summary="The person's transfers",
    response_model=list[TransferOut],
    responses=problems(401, 403, 404),
    tags=["transfers"],
)
async def list_transfers(
    person_id: PersonId, session: DbSession, principal: PersonReader
) -> list[TransferOut]:
    rows = await service.list_transfers(session, principal, person_id)
    return [service.transfer_out(r) for r in rows]


@router.post(
    "/transfers/{transfer_id}/approve",
    summary="Approve a requested transfer",
    response_model=TransferOut,
    responses=problems(401, 403, 404, 409),
    tags=["transfers"],
)
async def approve_transfer(
    transfer_id: RowId, session: DbSession, principal: EnrollmentStaff
) -> TransferOut:
    row = await service.move_transfer(session, principal, transfer_id, TransferAction.approve)
    return service.transfer_out(row)


@router.post(
    "/transfers/{transfer_id}/reject",
    summary="Reject a requested transfer, with the reason",
    response_model=TransferOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["transfers"],
)
async def reject_transfer(
    transfer_id: RowId, body: TransferReject, session: DbSession, principal: EnrollmentStaff
) -> TransferOut:
    row = await service.move_transfer(
        session, principal, transfer_id, TransferAction.reject, body.reason
    )
    return service.transfer_out(row)


@router.post(
    "/transfers/{transfer_id}/complete",
    summary="Complete an approved transfer (out: local coverage ends the day before)",
    response_model=TransferOut,
    responses=problems(401, 403, 404, 409),
    tags=["transfers"],
)
async def complete_transfer(
    transfer_id: RowId, session: DbSession, principal: EnrollmentStaff
) -> TransferOut:
    row = await service.move_transfer(session, principal, transfer_id, TransferAction.complete)
    return service.transfer_out(row)


# --- access log ------------------------------------------------------------------------------


@router.get(
    "/access-log",
    summary="Who read or changed a person's data (admins), newest first",
    response_model=Page[AccessLogItem],
    responses=problems(401, 403, 422),
    tags=["access log"],
)
async def read_access_log(
    session: DbSession,
    _: Admin,
    page: Pagination,
    person_id: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None,
    client_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[AccessLogItem]:
    rows = await access_log_page(session, page.after, page.limit + 1, person_id, client_id)
    rows, cursor = page.page(rows, key=lambda e: e.id)
    return Page(
        items=[
            AccessLogItem(
                entry_id=e.id,
                person_id=e.person_id,
                client_id=e.client_id,
                client_kind=e.client_kind,
                client_bound=e.client_bound,
                action=e.action,
                request_id=e.request_id,
                at=e.at,
            )
            for e in rows
        ],
        next_cursor=cursor,
    )
