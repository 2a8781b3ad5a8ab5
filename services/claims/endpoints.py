"""Routes of the claims API: thin, the rules live in :mod:`service` and :mod:`domain`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from services.claims import (
    catalog,
    idempotency,
    reimbursements,
    repository,
    service,
    supervision,
)
from services.claims.auth import (
    ClaimSubmitter,
    PersonReader,
    SettlementReader,
    Settler,
    ensure_at_own_institution,
    ensure_may_read_person,
    ensure_may_read_settlement,
)
from services.claims.clients import Enrollment, Stations, enrollment_client, stations_client
from services.claims.domain.supervision import FlagKind
from services.claims.flows import gather_inputs
from services.claims.hotpath import HotPath, Replay
from services.claims.models import AuditFlag, Drug
from services.claims.schemas import (
    AccumulatorsOut,
    CalendarYearIn,
    CalendarYearOut,
    CaseCreate,
    CaseOut,
    CaseUpdate,
    DrugLookup,
    DrugLookupOut,
    DrugOut,
    ExplanationOfBenefits,
    FlagOut,
    FundTotal,
    PolicyCreate,
    PolicyOut,
    RecheckOut,
    ReimbursementCreate,
    ReimbursementOut,
    Rejection,
    SettlementRequest,
)
from services.claims.service import Inputs
from shared.auth import Admin, ClientKind, Principal, authorize
from shared.db import DbSession, ReadSession
from shared.errors import Conflict, NotFound, problems
from shared.handread import JsonBody, Params, declared
from shared.pagination import Page, PageByCode, PageById
from shared.schemas import PathId, QueryId, Text

router = APIRouter(prefix="/claims/v1")

T = TypeVar("T")


# --- policies -----------------------------------------------------------------------------------


@router.get(
    "/policies",
    operation_id="policies_list",
    tags=["policies"],
    summary="Benefit policy versions, oldest first",
    response_model=list[PolicyOut],
    responses=problems(422),
)
async def list_policies(session: DbSession) -> list[PolicyOut]:
    return await service.list_policies(session)


@router.post(
    "/policies",
    operation_id="policies_create",
    tags=["policies"],
    summary="Add a policy version, in force from its effective_from (admin)",
    status_code=201,
    response_model=PolicyOut,
    responses=problems(401, 403, 409, 422),
)
async def create_policy(body: PolicyCreate, session: DbSession, _: Admin) -> PolicyOut:
    return await service.create_policy(session, body)


# --- settlements --------------------------------------------------------------------------------


# The two routes on every visit's path read their request by hand (shared.handread): FastAPI's
# dependency solving and the response model's second pass showed as a large share of each
# request's CPU in profiles.
_SETTLEMENT = JsonBody(SettlementRequest)
_IDEMPOTENCY_KEY = Params("header", idempotency.IdempotencyHeaders)
_SETTLERS = frozenset({ClientKind.institution, ClientKind.pharmacy})


def _hot_path(request: Request) -> HotPath:
    hot: HotPath = request.app.state.hot_path
    return hot


def _dependency(request: Request, factory: Callable[[Request], T]) -> T:
    """The client ``factory`` makes, or its test override, as FastAPI would have resolved it."""
    override = request.app.dependency_overrides.get(factory)
    if override is not None:
        made: T = override()
        return made
    return factory(request)


async def _inputs(request: Request, principal: Principal, body: SettlementRequest) -> Inputs:
    ensure_at_own_institution(principal, body.institution_code)
    return await gather_inputs(
        principal,
        body,
        _dependency(request, enrollment_client),
        _dependency(request, stations_client),
    )


def _json(answer: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(answer),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


@router.post(
    "/settlements/preview",
    tags=["settlements"],
    summary="Pre-settle (试算): the explanation of benefits, nothing recorded",
    response_model=ExplanationOfBenefits,
    responses=problems(403, 404, 503, 504),
    openapi_extra=declared(_SETTLEMENT),
    operation_id="settlements_preview",
)
async def preview_settlement(request: Request) -> Any:
    """For institutions and pharmacies, at their own institution."""
    principal = authorize(request, _SETTLERS)
    body = await _SETTLEMENT.read(request)
    inputs = await _inputs(request, principal, body)
    return _json(await _hot_path(request).preview(body, inputs))


@router.post(
    "/settlements",
    tags=["settlements"],
    summary="Settle a visit (一站式结算); a retry with the same Idempotency-Key pays once",
    status_code=201,
    response_model=ExplanationOfBenefits,
    responses={201: idempotency.REPLAYED_DECLARATION, **problems(403, 404, 503, 504)},
    openapi_extra=declared(_SETTLEMENT, _IDEMPOTENCY_KEY),
    operation_id="settlements_create",
)
async def create_settlement(request: Request) -> Any:
    """For institutions and pharmacies, at their own institution. A retry after a timeout or a
    5xx sends the same Idempotency-Key and body: the visit is paid once, and the retry gets
    the first answer again."""
    principal = authorize(request, _SETTLERS)
    body = await _SETTLEMENT.read(request)
    key = _IDEMPOTENCY_KEY.read(request).key
    dumped = body.model_dump(mode="json")
    request_hash = idempotency.fingerprint("POST /settlements", dumped)
    # The calls come before the transaction's first statement: no connection or lock is held
    # while another service answers.
    inputs = await _inputs(request, principal, body)
    try:
        answer = await _hot_path(request).settle(
            principal, key, request_hash, body, dumped["items"], inputs
        )
    except Replay as replay:
        return _json(replay.body, replay.status_code, idempotency.REPLAYED)
    return _json(answer, 201)


@router.post(
    "/settlements/{settlement_id}/reversal",
    operation_id="settlements_reverse",
    tags=["settlements"],
    summary="Reverse a settlement (冲正), giving back its accumulators",
    response_model=ExplanationOfBenefits,
    responses={200: idempotency.REPLAYED_DECLARATION, **problems(401, 403, 404, 409, 422)},
)
async def reverse_settlement(
    settlement_id: PathId,
    key: idempotency.IdempotencyKeyHeader,
    session: DbSession,
    principal: Settler,
) -> Any:
    request_hash = idempotency.fingerprint(f"POST /settlements/{settlement_id}/reversal", None)
    earlier = await idempotency.seen(session, principal.client_id, key)
    if earlier is not None:
        return idempotency.replay(earlier, request_hash)
    row = await service.get_settlement(session, settlement_id)
    ensure_may_read_settlement(principal, row.id, row.person_id, row.institution_code)
    winner = await idempotency.claim(session, principal.client_id, key, request_hash)
    if winner is not None:
        return idempotency.replay(winner, request_hash)
    answer = service.jsonable(await service.reverse(session, row))
    await idempotency.remember(session, principal.client_id, key, 200, answer)
    return JSONResponse(answer)


@router.get(
    "/settlements/{settlement_id}",
    operation_id="settlements_get",
    tags=["settlements"],
    summary="Read a settlement's explanation of benefits",
    response_model=ExplanationOfBenefits,
    responses=problems(401, 403, 404),
)
async def get_settlement(
    settlement_id: PathId, session: DbSession, principal: SettlementReader
) -> ExplanationOfBenefits:
    row = await service.get_settlement(session, settlement_id)
    ensure_may_read_settlement(principal, row.id, row.person_id, row.institution_code)
    return service.settlement_out(row)


@router.get(
    "/persons/{person_id}/settlements",
    operation_id="person_settlements_list",
    tags=["settlements"],
    summary="A person's settlements, newest first",
    response_model=Page[ExplanationOfBenefits],
    responses=problems(401, 403, 404, 422),
)
async def list_person_settlements(
    person_id: PathId, session: DbSession, principal: PersonReader, page: PageById
) -> Page[ExplanationOfBenefits]:
    ensure_may_read_person(principal, person_id)
    before = page.after
    rows = await repository.person_settlements(session, person_id, before, page.limit + 1)
    rows, cursor = page.page(rows, key=lambda s: s.id)
    return Page(
        items=[service.settlement_out(r, with_accumulators=False) for r in rows],
        next_cursor=cursor,
    )


@router.get(
    "/persons/{person_id}/accumulators",
    operation_id="accumulators_get",
    tags=["settlements"],
    summary="What a person's fund layers paid this year, pool by pool, against each cap",
    response_model=AccumulatorsOut,
    responses=problems(401, 403, 404, 422),
)
async def get_accumulators(
    person_id: PathId,
    session: DbSession,
    principal: PersonReader,
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> AccumulatorsOut:
    ensure_may_read_person(principal, person_id)
    return await service.person_accumulators(session, person_id, year)


# --- catalog ------------------------------------------------------------------------------------


@router.get(
    "/catalog/drugs",
    operation_id="drugs_list",
    tags=["drug catalog"],
    summary="Search the drug catalog by code, pinyin initials or Chinese name (public)",
    response_model=Page[DrugOut],
    responses=problems(422),
)
async def list_drugs(
    session: DbSession,
    page: PageByCode,
    q: Annotated[
        Text | None,
        Query(
            max_length=50, description="Code or pinyin-initials prefix (atf), or part of the name"
        ),
    ] = None,
    procured: Annotated[bool | None, Query(description="Only (not) nationally procured")] = None,
) -> Page[DrugOut]:
    statement = catalog.search(q, procured)
    if page.after is not None:
        statement = statement.where(Drug.code > page.after)
    rows = list(await session.scalars(statement.order_by(Drug.code).limit(page.limit + 1)))
    rows, cursor = page.page(rows, key=lambda d: d.code)
    return Page(items=[DrugOut.model_validate(d) for d in rows], next_cursor=cursor)


@router.post(
    "/catalog/drugs/lookup",
    operation_id="drugs_lookup",
    tags=["drug catalog"],
    summary="Look many drug codes up at once (public)",
    response_model=DrugLookupOut,
    responses=problems(422),
)
async def lookup_drugs(body: DrugLookup, session: ReadSession) -> DrugLookupOut:
    wanted = list(dict.fromkeys(body.codes))
    rows = list(await session.scalars(select(Drug).where(Drug.code.in_(wanted))))
    known = {row.code for row in rows}
    return DrugLookupOut(
        found=[DrugOut.model_validate(row) for row in rows],
        missing=[code for code in wanted if code not in known],
    )


@router.get(
    "/catalog/drugs/{code}",
    operation_id="drugs_get",
    tags=["drug catalog"],
    summary="One drug of the catalog (public)",
    response_model=DrugOut,
    responses=problems(404, 422),
)
async def get_drug(
    code: Annotated[Text, Path(max_length=40, examples=["XA0001"])], session: DbSession
) -> DrugOut:
    drug = await session.get(Drug, code)
    if drug is None:
        raise NotFound(f"drug {code} is not in the catalog")
    return DrugOut.model_validate(drug)


# --- manual reimbursement -----------------------------------------------------------------------


@router.post(
    "/reimbursements",
    operation_id="reimbursements_create",
    tags=["reimbursements"],
    summary="Submit a manual reimbursement with its receipts; the 10-working-day clock starts",
    status_code=201,
    response_model=ReimbursementOut,
    responses=problems(401, 403, 404, 422),
)
async def submit_reimbursement(
    body: ReimbursementCreate, session: DbSession, principal: ClaimSubmitter
) -> ReimbursementOut:
    return reimbursements.reimbursement_out(await reimbursements.submit(session, principal, body))


@router.get(
    "/reimbursements",
    operation_id="reimbursements_list",
    tags=["reimbursements"],
    summary="Reimbursements, oldest first; ?overdue=true lists those past their deadline",
    response_model=Page[ReimbursementOut],
    responses=problems(401, 403, 422),
)
async def list_reimbursements(
    session: DbSession,
    principal: ClaimSubmitter,
    page: PageById,
    overdue: bool | None = None,
    status: Annotated[str | None, Query(pattern="^(submitted|approved|rejected|paid)$")] = None,
    person_id: QueryId = None,
) -> Page[ReimbursementOut]:
    if principal.kind is ClientKind.app:
        person_id = principal.person_id
    on = reimbursements.today()
    statement = reimbursements.listing(
        overdue=overdue,
        status=status,
        person_id=person_id,
        after=page.after,
        on=on,
    )
    rows = list(await session.scalars(statement.limit(page.limit + 1)))
    rows, cursor = page.page(rows, key=lambda r: r.id)
    return Page(items=[reimbursements.reimbursement_out(r, on) for r in rows], next_cursor=cursor)


@router.get(
    "/reimbursements/{reimbursement_id}",
    operation_id="reimbursements_get",
    tags=["reimbursements"],
    summary="Read a reimbursement",
    response_model=ReimbursementOut,
    responses=problems(401, 403, 404),
)
async def get_reimbursement(
    reimbursement_id: PathId, session: DbSession, principal: ClaimSubmitter
) -> ReimbursementOut:
    row = await reimbursements.get(session, principal, reimbursement_id)
    return reimbursements.reimbursement_out(row)


@router.post(
    "/reimbursements/{reimbursement_id}/approve",
    operation_id="reimbursements_approve",
    tags=["reimbursements"],
    summary="Approve: the settlement calculation by service date (admin)",
    response_model=ReimbursementOut,
    responses=problems(401, 403, 404, 409, 422, 503, 504),
)
async def approve_reimbursement(
    reimbursement_id: PathId,
    session: DbSession,
    principal: Admin,
    enrollment: Enrollment,
    stations: Stations,
) -> ReimbursementOut:
    row = await reimbursements.get(session, principal, reimbursement_id)
    if row.status != "submitted":
        raise Conflict(f"reimbursement {row.id} is {row.status}, not submitted")
    inputs = await gather_inputs(
        principal, reimbursements.as_settlement_request(row), enrollment, stations
    )
    return reimbursements.reimbursement_out(
        await reimbursements.approve(session, principal, row, inputs)
    )


@router.post(
    "/reimbursements/{reimbursement_id}/reject",
    operation_id="reimbursements_reject",
    tags=["reimbursements"],
    summary="Reject with a reason (admin)",
    response_model=ReimbursementOut,
    responses=problems(401, 403, 404, 409, 422),
)
async def reject_reimbursement(
    reimbursement_id: PathId, body: Rejection, session: DbSession, principal: Admin
) -> ReimbursementOut:
    row = await reimbursements.reject(session, principal, reimbursement_id, body.reason)
    return reimbursements.reimbursement_out(row)


@router.post(
    "/reimbursements/{reimbursement_id}/pay",
    operation_id="reimbursements_pay",
    tags=["reimbursements"],
    summary="Pay an approved reimbursement (admin); a retry with the same key pays once",
    response_model=ReimbursementOut,
    responses={200: idempotency.REPLAYED_DECLARATION, **problems(401, 403, 404, 409, 422)},
)
async def pay_reimbursement(
    reimbursement_id: PathId,
    key: idempotency.IdempotencyKeyHeader,
    session: DbSession,
    principal: Admin,
) -> Any:
    request_hash = idempotency.fingerprint(f"POST /reimbursements/{reimbursement_id}/pay", None)
    earlier = await idempotency.seen(session, principal.client_id, key)
    if earlier is not None:
        return idempotency.replay(earlier, request_hash)
    winner = await idempotency.claim(session, principal.client_id, key, request_hash)
    if winner is not None:
        return idempotency.replay(winner, request_hash)
    row = await reimbursements.pay(session, reimbursement_id)
    answer = reimbursements.reimbursement_out(row).model_dump(mode="json")
    await idempotency.remember(session, principal.client_id, key, 200, answer)
    return JSONResponse(answer)


@router.post(
    "/calendar/{year}",
    operation_id="calendar_years_load",
    tags=["reimbursements"],
    summary="Load a year's published holidays and make-up workdays (admin)",
    response_model=CalendarYearOut,
    responses=problems(401, 403, 422),
)
async def load_calendar_year(
    year: Annotated[int, Path(ge=2000, le=2100)],
    body: CalendarYearIn,
    session: DbSession,
    _: Admin,
) -> CalendarYearOut:
    return await reimbursements.load_calendar_year(session, year, body)


# --- fund supervision ---------------------------------------------------------------------------


@router.get(
    "/audit/flags",
    operation_id="audit_flags_list",
    tags=["audit"],
    summary="Suspicious settlements flagged as they arrived, oldest first (admin)",
    response_model=Page[FlagOut],
    responses=problems(401, 403, 422),
)
async def list_flags(
    session: DbSession,
    _: Admin,
    page: PageById,
    kind: FlagKind | None = None,
    institution_code: Annotated[str | None, Query(pattern=r"^[HP]\d{11}$")] = None,
    person_id: QueryId = None,
    in_case: Annotated[bool | None, Query(description="Attached to an audit case or not")] = None,
) -> Page[FlagOut]:
    statement = select(AuditFlag)
    if kind is not None:
        statement = statement.where(AuditFlag.kind == kind.value)
    if institution_code is not None:
        statement = statement.where(AuditFlag.institution_code == institution_code)
    if person_id is not None:
        statement = statement.where(AuditFlag.person_id == person_id)
    if in_case is not None:
        statement = statement.where(
            AuditFlag.case_id.is_not(None) if in_case else AuditFlag.case_id.is_(None)
        )
    if page.after is not None:
        statement = statement.where(AuditFlag.id > page.after)
    rows = list(await session.scalars(statement.order_by(AuditFlag.id).limit(page.limit + 1)))
    rows, cursor = page.page(rows, key=lambda f: f.id)
    return Page(items=[FlagOut.model_validate(f) for f in rows], next_cursor=cursor)


@router.post(
    "/audit/cases",
    operation_id="audit_cases_create",
    tags=["audit"],
    summary="Open an audit case on an institution, with flags (admin)",
    status_code=201,
    response_model=CaseOut,
    responses=problems(401, 403, 409, 422),
)
async def open_case(body: CaseCreate, session: DbSession, principal: Admin) -> CaseOut:
    return await supervision.open_case(session, principal, body)


@router.get(
    "/audit/cases",
    operation_id="audit_cases_list",
    tags=["audit"],
    summary="Audit cases, oldest first (admin)",
    response_model=Page[CaseOut],
    responses=problems(401, 403, 422),
)
async def list_cases(
    session: DbSession,
    _: Admin,
    page: PageById,
    institution_code: Annotated[str | None, Query(pattern=r"^[HP]\d{11}$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> Page[CaseOut]:
    after = page.after
    rows = await supervision.list_cases(session, institution_code, status, after, page.limit + 1)
    rows, cursor = page.page(rows, key=lambda c: c.id)
    return Page(items=rows, next_cursor=cursor)


@router.get(
    "/audit/cases/{case_id}",
    operation_id="audit_cases_get",
    tags=["audit"],
    summary="Read an audit case (admin)",
    response_model=CaseOut,
    responses=problems(401, 403, 404),
)
async def get_case(case_id: PathId, session: DbSession, _: Admin) -> CaseOut:
    return await supervision.get_case(session, case_id)


@router.patch(
    "/audit/cases/{case_id}",
    operation_id="audit_cases_update",
    tags=["audit"],
    summary="Record findings, fine and recovered amount; add flags; close (admin)",
    response_model=CaseOut,
    responses=problems(401, 403, 404, 409, 422),
)
async def update_case(case_id: PathId, body: CaseUpdate, session: DbSession, _: Admin) -> CaseOut:
    return await supervision.update_case(session, case_id, body)


@router.get(
    "/audit/fund-totals",
    operation_id="fund_totals_list",
    tags=["audit"],
    summary="What each fund layer paid per month of a year (admin)",
    response_model=list[FundTotal],
    responses=problems(401, 403, 422),
)
async def fund_totals(
    session: DbSession, _: Admin, year: Annotated[int, Query(ge=2000, le=2100)]
) -> list[FundTotal]:
    return await supervision.fund_totals(session, year)


@router.post(
    "/audit/persons/{person_id}/recheck",
    operation_id="audit_person_recheck",
    tags=["audit"],
    summary="Re-read a person's eligibility for each day settled in a year; flag uncovered ones "
    "(admin, after a retroactive coverage change)",
    response_model=RecheckOut,
    responses=problems(401, 403, 404, 422, 503, 504),
)
async def recheck_person(
    person_id: PathId,
    session: DbSession,
    _: Admin,
    enrollment: Enrollment,
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> RecheckOut:
    days = await supervision.covered_dates(session, person_id, year)
    answers = await asyncio.gather(*(enrollment.eligibility(person_id, day) for day in days))
    uncovered = {day for day, answer in zip(days, answers, strict=True) if not answer.eligible}
    raised = await supervision.flag_uncovered(session, person_id, year, uncovered)
    return RecheckOut(person_id=person_id, year=year, days_checked=len(days), flags_raised=raised)
