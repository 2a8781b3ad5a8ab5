"""Routes of the enrollment API: thin, the rules live in :mod:`service`."""

from __future__ import annotations

import io
from typing import Annotated, Any

import orjson
import segno
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

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
    CoveragePeriodCreate,
    CoveragePeriodEnd,
    CoveragePeriodOut,
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
from shared.errors import NotFound, problems
from shared.handread import Params, declared
from shared.pagination import Page, PageById
from shared.schemas import Day, Id, Text
from shared.validators import USCC, VOUCHER_CODE_PATTERN, IdNumber

router = APIRouter(prefix="/enrollment/v1")


def _hot_path(request: Request) -> HotPath:
    """The plain asyncpg pool of the settlement path's reads (see :class:`HotPath`)."""
    hot: HotPath = request.app.state.hot_path
    return hot


PersonId = Annotated[Id, Path(description="The person's id")]
RowId = Annotated[Id, Path()]
"""Ids are bigint: a larger number is a 422, not a database error."""

# --- the settlement path: eligibility and voucher resolution ----------------------------------
# First in the router: requests are matched against the routes in order. The app serves
# get_eligibility past the router (shared.fastlane).


class EligibilityPath(BaseModel):
    person_id: Id = Field(description="The person's id")


class EligibilityOn(BaseModel):
    date: Day | None = Field(
        None,
        description="The day asked about; default today (China Standard Time)",
        examples=["2024-06-01"],
    )


_ELIGIBILITY_PATH = Params("path", EligibilityPath)
_ELIGIBILITY_ON = Params("query", EligibilityOn)


@router.get(
    "/persons/{person_id}/eligibility",
    summary="Is the person covered on a date, and with which approvals and filings",
    response_model=Eligibility,
    responses=problems(403, 404),
    tags=["eligibility"],
    openapi_extra=declared(_ELIGIBILITY_PATH, _ELIGIBILITY_ON),
    operation_id="eligibility_get",
)
async def get_eligibility(request: Request) -> Any:
    """For staff, institutions and pharmacies (any person), and the person's own app."""
    # On every settlement's path, so its parameters are read by hand (shared.handread):
    # FastAPI's per-parameter machinery cost more than the query itself.
    principal = authorize(request, ELIGIBILITY_READERS)
    person_id = _ELIGIBILITY_PATH.read(request).person_id
    day = _ELIGIBILITY_ON.read(request).date or service.today()
    answer = await service.eligibility(_hot_path(request), principal, person_id, day)
    # The dict is serialised as is, without a second model pass.
    return Response(orjson.dumps(answer), media_type="application/json")


@router.post(
    "/eligibility/batch",
    operation_id="eligibility_batch",
    summary="Eligibility of many persons at once, each on its own date",
    response_model=EligibilityBatch,
    responses=problems(401, 403, 422),
    tags=["eligibility"],
    openapi_extra=BEARER_SECURITY,
)
async def get_eligibility_batch(body: EligibilityBatchRequest, request: Request) -> Any:
    """For the clients that may read one person's eligibility. Answers come in the order asked,
    each with its own status (404 for a person that does not exist or that this client may not see), and
    each audited read is logged as it would be alone."""
    principal = authorize(request, ELIGIBILITY_READERS)
    asked = [(item.person_id, item.date, item.request_id) for item in body.items]
    answers = await service.eligibility_batch(_hot_path(request), principal, asked)
    return Response(orjson.dumps({"items": answers}), media_type="application/json")


@router.post(
    "/voucher-codes/resolve",
    operation_id="voucher_codes_resolve",
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
    operation_id="persons_create",
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
    operation_id="persons_list",
    summary="List persons, or look one up by ID number (ID numbers masked)",
    response_model=Page[PersonListItem],
    responses=problems(401, 403, 422),
    tags=["persons"],
)
async def list_persons(
    session: DbSession,
    principal: EnrollmentStaff,
    page: PageById,
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
    operation_id="persons_get",
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
    operation_id="coverages_create",
    summary="Add a coverage period",
    status_code=201,
    response_model=CoveragePeriodOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["coverage periods"],
)
async def create_coverage(
    person_id: PersonId, body: CoveragePeriodCreate, session: DbSession, principal: EnrollmentStaff
) -> CoveragePeriodOut:
    return service.coverage_out(await service.add_coverage(session, principal, person_id, body))


@router.get(
    "/persons/{person_id}/coverages",
    operation_id="coverages_list",
    summary="A person's coverage periods",
    response_model=list[CoveragePeriodOut],
    responses=problems(401, 403, 404),
    tags=["coverage periods"],
)
async def list_coverages(
    person_id: PersonId, session: DbSession, principal: PersonReader
) -> list[CoveragePeriodOut]:
    rows = await service.list_coverages(session, principal, person_id)
    return [service.coverage_out(r) for r in rows]


@router.patch(
    "/persons/{person_id}/coverages/{coverage_id}",
    operation_id="coverages_end",
    summary="End (or move the end of) a coverage period",
    response_model=CoveragePeriodOut,
    responses=problems(401, 403, 404, 409, 422),
    tags=["coverage periods"],
)
async def end_coverage(
    person_id: PersonId,
    coverage_id: RowId,
    body: CoveragePeriodEnd,
    session: DbSession,
    principal: EnrollmentStaff,
) -> CoveragePeriodOut:
    row = await service.end_coverage(session, principal, person_id, coverage_id, body.end_date)
    return service.coverage_out(row)


# --- qualifications --------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/qualifications",
    operation_id="qualifications_create",
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
    operation_id="qualifications_list",
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
    operation_id="qualifications_cancel",
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
    operation_id="offsite_filings_create",
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
    operation_id="offsite_filings_list",
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
    operation_id="offsite_filings_cancel",
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
    operation_id="voucher_codes_create",
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


_BYTES = "application/octet-stream"
VoucherCodeText = Annotated[str, Path(pattern=VOUCHER_CODE_PATTERN)]


def _image(kind: str, media_type: str) -> dict[int | str, dict[str, Any]]:
    """The QR image's declaration: its image type, or plain bytes to a client that asks for
    them (``Accept: application/octet-stream``, as generated clients handle binary bodies)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {
            "description": f"The QR code, {kind}",
            "content": {media_type: binary, _BYTES: binary},
            "headers": {"Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}}},
        },
        **problems(403, 404),
    }


def _image_response(request: Request, content: bytes, media_type: str) -> Response:
    accept = request.headers.get("accept", "")
    if _BYTES in accept and media_type not in accept:
        media_type = _BYTES
    return Response(content, media_type=media_type)


@router.get(
    "/persons/{person_id}/voucher-codes/{code}.svg",
    operation_id="voucher_codes_svg",
    summary="The voucher code as an SVG QR image",
    response_class=Response,
    responses=_image("SVG", "image/svg+xml"),
    tags=["voucher codes"],
)
async def voucher_svg(
    person_id: PersonId, code: VoucherCodeText, request: Request, principal: PersonReader
) -> Response:
    out = io.BytesIO()
    _qr(request, person_id, code, principal).save(out, kind="svg", scale=4, border=2)
    return _image_response(request, out.getvalue(), "image/svg+xml")


@router.get(
    "/persons/{person_id}/voucher-codes/{code}.png",
    operation_id="voucher_codes_png",
    summary="The voucher code as a PNG QR image",
    response_class=Response,
    responses=_image("PNG", "image/png"),
    tags=["voucher codes"],
)
async def voucher_png(
    person_id: PersonId, code: VoucherCodeText, request: Request, principal: PersonReader
) -> Response:
    out = io.BytesIO()
    _qr(request, person_id, code, principal).save(out, kind="png", scale=6, border=2)
    return _image_response(request, out.getvalue(), "image/png")


# --- employers -------------------------------------------------------------------------------


@router.post(
    "/employers",
    operation_id="employers_create",
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
    operation_id="employers_get",
    summary="Read an employer",
    response_model=EmployerOut,
    responses=problems(401, 403, 404, 422),
    tags=["employers"],
)
async def get_employer(uscc: USCC, session: DbSession, _: EnrollmentStaff) -> EmployerOut:
    return service.employer_out(await service.get_employer(session, uscc))


@router.post(
    "/employers/{uscc}/staff-changes",
    operation_id="employers_staff_changes",
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
    operation_id="contributions_create",
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
    operation_id="contributions_list",
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
    operation_id="contributions_government_batch",
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
    operation_id="transfers_create",
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
    operation_id="transfers_list",
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
    operation_id="transfers_approve",
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
    operation_id="transfers_reject",
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
    operation_id="transfers_complete",
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
    operation_id="access_log_list",
    summary="Who read or changed a person's data (admins), newest first",
    response_model=Page[AccessLogItem],
    responses=problems(401, 403, 422),
    tags=["access log"],
)
async def read_access_log(
    session: DbSession,
    _: Admin,
    page: PageById,
    person_id: Annotated[Id | None, Query()] = None,
    client_id: Annotated[Text | None, Query(max_length=100)] = None,
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
