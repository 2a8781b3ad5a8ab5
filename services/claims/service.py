"""Claims rules with I/O: policies, settlement, reversal, accumulators."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import repository
from services.claims.domain.calculator import (
    ZERO,
    DomainError,
    Institution,
    Line,
    Outcome,
    Patient,
    Pool,
    Visit,
    calculate,
    pool_cap,
)
from services.claims.domain.policy import BZ_2022, PolicyParameters
from services.claims.models import BenefitPolicy, Settlement
from services.claims.schemas import (
    AccumulatorsOut,
    ExplanationOfBenefits,
    PolicyCreate,
    PolicyOut,
    PoolOut,
    SettlementRequest,
)
from shared.errors import Conflict, NotFound, Unprocessable

# --- policies -----------------------------------------------------------------------------------


async def list_policies(session: AsyncSession) -> list[PolicyOut]:
    rows = await session.scalars(select(BenefitPolicy).order_by(BenefitPolicy.effective_from))
    return [PolicyOut.model_validate(row) for row in rows]


async def create_policy(session: AsyncSession, body: PolicyCreate) -> PolicyOut:
    row = BenefitPolicy(
        code=body.code,
        effective_from=body.effective_from,
        description=body.description,
        parameters=body.parameters.model_dump(mode="json"),
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            f"a version with code {body.code} or in force from "
            f"{body.effective_from.isoformat()} exists"
        ) from None
    repository.forget_policies()
    return PolicyOut(
        code=row.code,
        effective_from=row.effective_from,
        description=row.description,
        parameters=body.parameters,
    )


async def policy_for(session: AsyncSession, day: date) -> tuple[str, PolicyParameters]:
    found = await repository.policy_in_force(session, day)
    if found is None:
        raise Unprocessable(
            f"no benefit policy is in force on {day.isoformat()}", field="body.service_date"
        )
    return found


# --- accumulators -------------------------------------------------------------------------------


def accumulators_out(
    policy: PolicyParameters,
    person_id: int,
    year: int,
    used: Mapping[str, Decimal],
    caps: Mapping[str, Decimal | None] | None = None,
) -> AccumulatorsOut:
    """The pools in ``caps`` (a visit's), or every pool the person has this year."""
    names = list(caps) if caps is not None else sorted(used)
    pools = []
    for pool in names:
        if pool == Pool.ADMISSIONS:
            continue
        cap = caps[pool] if caps is not None else pool_cap(policy, pool)
        amount = used.get(pool, ZERO)
        pools.append(
            PoolOut(
                pool=pool,
                used=amount,
                annual_cap=cap,
                remaining=max(ZERO, cap - amount) if cap is not None else None,
            )
        )
    return AccumulatorsOut(
        person_id=person_id,
        year=year,
        inpatient_admissions=int(used.get(Pool.ADMISSIONS, ZERO)),
        pools=pools,
    )


async def person_accumulators(session: AsyncSession, person_id: int, year: int) -> AccumulatorsOut:
    used = await repository.accumulators(session, person_id, year)
    found = await repository.policy_in_force(session, date(year, 12, 31))
    if found is None:  # a year before any version: amounts without caps
        return accumulators_out(BZ_2022, person_id, year, used, dict.fromkeys(sorted(used)))
    return accumulators_out(found[1], person_id, year, used)


# --- settlement ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the other services said, fetched before any transaction work."""

    person_id: int
    patient: Patient
    institution: Institution


def visit_of(body: SettlementRequest) -> Visit:
    return Visit(
        visit_type=body.visit_type,
        service_date=body.service_date,
        disease_code=body.disease_code,
        lines=tuple(
            Line(item.code, item.category, item.quantity, item.unit_price, item.name)
            for item in body.items
        ),
    )


def compute(
    policy: PolicyParameters, inputs: Inputs, visit: Visit, used: Mapping[str, Decimal]
) -> Outcome:
    try:
        return calculate(policy, inputs.patient, inputs.institution, visit, used)
    except DomainError as exc:
        raise Unprocessable(exc.reason, field=exc.field) from None


def eob(
    outcome: Outcome | Settlement,
    *,
    settlement_id: int | None,
    status: str,
    person_id: int,
    body: SettlementRequest | Settlement,
    policy_code: str,
    accumulators: AccumulatorsOut | None,
) -> ExplanationOfBenefits:
    return ExplanationOfBenefits(
        settlement_id=settlement_id,
        status=status,
        person_id=person_id,
        institution_code=body.institution_code,
        visit_type=body.visit_type,
        service_date=body.service_date,
        policy_code=policy_code,
        total=outcome.total,
        out_of_scope=outcome.out_of_scope,
        policy_scope=outcome.policy_scope,
        deductible=outcome.deductible,
        basic_fund=outcome.basic_fund,
        large_amount_subsidy=outcome.large_amount_subsidy,
        critical_illness=outcome.critical_illness,
        medical_assistance=outcome.medical_assistance,
        personal_pay=outcome.personal_pay,
        accumulators=accumulators,
    )


def settlement_out(row: Settlement, *, with_accumulators: bool = True) -> ExplanationOfBenefits:
    return eob(
        row,
        settlement_id=row.id,
        status=row.status,
        person_id=row.person_id,
        body=row,
        policy_code=row.policy_code,
        accumulators=AccumulatorsOut.model_validate(row.accumulators_after)
        if with_accumulators
        else None,
    )


async def get_settlement(session: AsyncSession, settlement_id: int) -> Settlement:
    row = await repository.settlement(session, settlement_id)
    if row is None:
        raise NotFound(f"settlement {settlement_id} not found")
    return row


async def reverse(session: AsyncSession, row: Settlement) -> ExplanationOfBenefits:
    """冲正: undo a settlement and give back everything it took from each accumulator."""
    await repository.lock_person(session, row.person_id)
    locked = await repository.settlement(session, row.id, for_update=True)
    assert locked is not None
    if locked.status != "settled":
        raise Conflict(f"settlement {row.id} is already {locked.status}")
    year = locked.service_date.year
    deltas = {pool: Decimal(amount) for pool, amount in locked.deltas.items()}
    await repository.add_to_accumulators(session, locked.person_id, year, deltas, sign=-1)
    await repository.mark_reversed(session, locked)
    _, policy = await policy_for(session, locked.service_date)
    used = await repository.accumulators(session, locked.person_id, year)
    caps = {pool: pool_cap(policy, pool) for pool in deltas}
    out = settlement_out(locked, with_accumulators=False)
    return out.model_copy(
        update={
            "status": "reversed",
            "accumulators": accumulators_out(policy, locked.person_id, year, used, caps),
        }
    )


def jsonable(model: ExplanationOfBenefits) -> dict[str, Any]:
    return model.model_dump(mode="json")
