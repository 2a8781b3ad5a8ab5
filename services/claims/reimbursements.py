"""Manual reimbursement (手工报销): submit, approve (the settlement calculation), reject, pay."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import repository, service
from services.claims.domain.calculator import ZERO, apply
from services.claims.domain.policy import VisitType
from services.claims.domain.workdays import YearTable, add_workdays
from services.claims.models import CalendarYear, Reimbursement
from services.claims.schemas import (
    CalendarYearIn,
    CalendarYearOut,
    ExplanationOfBenefits,
    ItemIn,
    ReceiptIn,
    ReimbursementCreate,
    ReimbursementOut,
    SettlementRequest,
)
from shared.auth import STAFF_KINDS, Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.money import round_money

DECISION_WORKING_DAYS = 10
"""Boshan's limit (seed), down from the national 30."""

BEIJING = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(BEIJING).date()


async def calendar_tables(session: AsyncSession) -> dict[int, YearTable]:
    rows = await session.scalars(select(CalendarYear))
    return {
        row.year: YearTable(
            holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
            workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        )
        for row in rows
    }


async def load_calendar_year(
    session: AsyncSession, year: int, body: CalendarYearIn
) -> CalendarYearOut:
    for name, days in (("holidays", body.holidays), ("workdays", body.workdays)):
        for index, day in enumerate(days):
            if day.year != year:
                raise Unprocessable(
                    f"{day.isoformat()} is not in {year}", field=f"body.{name}.{index}"
                )
    if set(body.holidays) & set(body.workdays):
        raise Unprocessable("a day cannot be both a holiday and a workday", field="body.workdays")
    values = {
        "holidays": sorted(d.isoformat() for d in set(body.holidays)),
        "workdays": sorted(d.isoformat() for d in set(body.workdays)),
    }
    statement = insert(CalendarYear).values(year=year, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CalendarYear.year], set_={**values, "loaded_at": func.now()}
        )
    )
    return CalendarYearOut(
        year=year, holidays=sorted(set(body.holidays)), workdays=sorted(set(body.workdays))
    )


def reimbursement_out(row: Reimbursement, on: date | None = None) -> ReimbursementOut:
    return ReimbursementOut(
        id=row.id,
        person_id=row.person_id,
        institution_code=row.institution_code,
        visit_type=row.visit_type,
        service_date=row.service_date,
        disease_code=row.disease_code,
        status=row.status,
        total=row.total,
        receipts=[ReceiptIn.model_validate(r) for r in row.receipts],
        submitted_on=row.submitted_on,
        deadline=row.deadline,
        deadline_provisional=row.deadline_provisional,
        overdue=row.status == "submitted" and row.deadline < (on or today()),
        reason=row.reason,
        decision=ExplanationOfBenefits.model_validate(row.decision) if row.decision else None,
        paid=row.paid_at is not None,
    )


async def submit(
    session: AsyncSession, principal: Principal, body: ReimbursementCreate
) -> Reimbursement:
    if principal.kind.value == "app" and principal.person_id != body.person_id:
        raise NotFound(f"person {body.person_id} not found")
    if body.received_on is not None and principal.kind not in STAFF_KINDS:
        raise Forbidden("only staff record the day a paper claim was received")
    submitted_on = body.received_on or today()
    if body.service_date > submitted_on:
        raise Unprocessable("care cannot be after its claim", field="body.service_date")
    total = sum((round_money(i.quantity * i.unit_price) for i in body.items), ZERO)
    receipts = sum((r.amount for r in body.receipts), ZERO)
    if receipts != total:
        raise Unprocessable(
            f"the receipts add up to {receipts:.2f}, the items to {total:.2f}",
            field="body.receipts",
        )
    deadline, provisional = add_workdays(
        submitted_on, DECISION_WORKING_DAYS, await calendar_tables(session)
    )
    row = Reimbursement(
        person_id=body.person_id,
        institution_code=body.institution_code,
        visit_type=body.visit_type.value,
        service_date=body.service_date,
        disease_code=body.disease_code,
        items=[i.model_dump(mode="json") for i in body.items],
        receipts=[r.model_dump(mode="json") for r in body.receipts],
        total=total,
        status="submitted",
        submitted_on=submitted_on,
        deadline=deadline,
        deadline_provisional=provisional,
        submitted_by=principal.client_id,
    )
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, principal: Principal, reimbursement_id: int) -> Reimbursement:
    row = await session.get(Reimbursement, reimbursement_id)
    if row is None or (principal.kind.value == "app" and principal.person_id != row.person_id):
        raise NotFound(f"reimbursement {reimbursement_id} not found")
    return row


def as_settlement_request(row: Reimbursement) -> SettlementRequest:
    return SettlementRequest(
        person_id=row.person_id,
        institution_code=row.institution_code,
        visit_type=VisitType(row.visit_type),
        service_date=row.service_date,
        disease_code=row.disease_code,
        items=[ItemIn.model_validate(i) for i in row.items],
    )


async def _locked(session: AsyncSession, reimbursement_id: int) -> Reimbursement:
    row = await session.scalar(
        select(Reimbursement)
        .where(Reimbursement.id == reimbursement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"reimbursement {reimbursement_id} not found")
    return row


async def approve(
    session: AsyncSession, principal: Principal, row: Reimbursement, inputs: service.Inputs
) -> Reimbursement:
    """The settlement calculation by service date, its accumulators taken under the person's lock."""
    await repository.lock_person(session, row.person_id)
    row = await _locked(session, row.id)
    if row.status != "submitted":
        raise Conflict(f"reimbursement {row.id} is {row.status}, not submitted")
    body = as_settlement_request(row)
    code, policy = await service.policy_for(session, row.service_date)
    year = row.service_date.year
    used = await repository.accumulators(session, row.person_id, year)
    outcome = service.compute(policy, inputs, service.visit_of(body), used)
    after = apply(used, outcome.deltas)
    decision = service.eob(
        outcome,
        settlement_id=None,
        status="settled",
        person_id=row.person_id,
        body=body,
        policy_code=code,
        accumulators=service.accumulators_out(policy, row.person_id, year, after, outcome.caps),
    )
    await repository.add_to_accumulators(session, row.person_id, year, outcome.deltas)
    row.status = "approved"
    row.decision = decision.model_dump(mode="json")
    row.deltas = {pool: str(amount) for pool, amount in outcome.deltas.items()}
    row.decided_by = principal.client_id
    row.decided_at = func.now()
    await session.flush()
    await session.refresh(row)
    return row


async def reject(
    session: AsyncSession, principal: Principal, reimbursement_id: int, reason: str
) -> Reimbursement:
    row = await _locked(session, reimbursement_id)
    if row.status != "submitted":
        raise Conflict(f"reimbursement {row.id} is {row.status}, not submitted")
    await session.execute(
        update(Reimbursement)
        .where(Reimbursement.id == row.id)
        .values(
            status="rejected", reason=reason, decided_by=principal.client_id, decided_at=func.now()
        )
    )
    await session.refresh(row)
    return row


async def pay(session: AsyncSession, reimbursement_id: int) -> Reimbursement:
    row = await _locked(session, reimbursement_id)
    if row.status != "approved":
        raise Conflict(f"reimbursement {row.id} is {row.status}; only an approved one is paid")
    await session.execute(
        update(Reimbursement)
        .where(Reimbursement.id == row.id)
        .values(status="paid", paid_at=func.now())
    )
    await session.refresh(row)
    return row


def listing(
    *,
    overdue: bool | None,
    status: str | None,
    person_id: int | None,
    after: int | None,
    on: date,
) -> Select[Reimbursement]:
    statement = select(Reimbursement)
    if overdue:
        statement = statement.where(
            Reimbursement.status == "submitted", Reimbursement.deadline < on
        )
    elif overdue is False:
        statement = statement.where(
            (Reimbursement.status != "submitted") | (Reimbursement.deadline >= on)
        )
    if status is not None:
        statement = statement.where(Reimbursement.status == status)
    if person_id is not None:
        statement = statement.where(Reimbursement.person_id == person_id)
    if after is not None:
        statement = statement.where(Reimbursement.id > after)
    return statement.order_by(Reimbursement.id)


def fund_paid(row: Reimbursement) -> Decimal:
    if not row.decision:
        return ZERO
    return Decimal(row.decision["total"]) - Decimal(row.decision["personal_pay"])
