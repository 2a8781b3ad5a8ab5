"""Fund supervision with I/O: flags raised inside the settlement's transaction, audit cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.supervision import FlagKind
from services.claims.models import AuditCase, AuditFlag, Settlement
from services.claims.schemas import CaseCreate, CaseOut, CaseUpdate, FundTotal
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable


async def _case_out(session: AsyncSession, case: AuditCase) -> CaseOut:
    flag_ids = list(
        await session.scalars(
            select(AuditFlag.id).where(AuditFlag.case_id == case.id).order_by(AuditFlag.id)
        )
    )
    out = CaseOut.model_validate(case)
    return out.model_copy(update={"flag_ids": flag_ids})


async def _attach(session: AsyncSession, case: AuditCase, flag_ids: list[int]) -> None:
    if not flag_ids:
        return
    found = list(
        await session.execute(
            select(AuditFlag.id, AuditFlag.institution_code, AuditFlag.case_id).where(
                AuditFlag.id.in_(flag_ids)
            )
        )
    )
    missing = set(flag_ids) - {f[0] for f in found}
    if missing:
        raise Unprocessable(f"no flags {sorted(missing)}", field="body.flag_ids")
    for flag_id, institution, case_id in found:
        if institution != case.institution_code:
            raise Unprocessable(
                f"flag {flag_id} is about {institution}, not {case.institution_code}",
                field="body.flag_ids",
            )
        if case_id is not None and case_id != case.id:
            raise Conflict(f"flag {flag_id} is already in case {case_id}")
    await session.execute(
        update(AuditFlag).where(AuditFlag.id.in_(flag_ids)).values(case_id=case.id)
    )


async def open_case(session: AsyncSession, principal: Principal, body: CaseCreate) -> CaseOut:
    case = AuditCase(
        institution_code=body.institution_code,
        status="open",
        findings=body.findings,
        fine=Decimal("0"),
        recovered=Decimal("0"),
        opened_by=principal.client_id,
    )
    session.add(case)
    await session.flush()
    await _attach(session, case, body.flag_ids)
    await session.refresh(case)
    return await _case_out(session, case)


async def get_case(session: AsyncSession, case_id: int) -> CaseOut:
    case = await session.get(AuditCase, case_id)
    if case is None:
        raise NotFound(f"audit case {case_id} not found")
    return await _case_out(session, case)


async def update_case(session: AsyncSession, case_id: int, body: CaseUpdate) -> CaseOut:
    case = await session.get(AuditCase, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"audit case {case_id} not found")
    if case.status == "closed":
        raise Conflict(f"audit case {case_id} is closed")
    await _attach(session, case, body.flag_ids)
    if body.findings is not None:
        case.findings = body.findings
    if body.fine is not None:
        case.fine = body.fine
    if body.recovered is not None:
        case.recovered = body.recovered
    if body.status == "closed":
        case.status = "closed"
        case.closed_at = func.now()
    await session.flush()
    await session.refresh(case)
    return await _case_out(session, case)


async def fund_totals(session: AsyncSession, year: int) -> list[FundTotal]:
    month = func.to_char(Settlement.service_date, "YYYY-MM")
    rows = await session.execute(
        select(
            month,
            func.count(),
            func.sum(Settlement.total),
            func.sum(Settlement.basic_fund),
            func.sum(Settlement.large_amount_subsidy),
            func.sum(Settlement.critical_illness),
            func.sum(Settlement.medical_assistance),
            func.sum(Settlement.personal_pay),
        )
        # A range on the partition key, so only that year's partition is read.
        .where(
            Settlement.service_date >= date(year, 1, 1),
            Settlement.service_date < date(year + 1, 1, 1),
            Settlement.status == "settled",
        )
        .group_by(month)
        .order_by(month)
    )
    return [
        FundTotal(
            month=m,
            settlements=n,
            total=total,
            basic_fund=basic,
            large_amount_subsidy=large,
            critical_illness=critical,
            medical_assistance=assistance,
            personal_pay=personal,
        )
        for m, n, total, basic, large, critical, assistance, personal in rows
    ]


async def covered_dates(session: AsyncSession, person_id: int, year: int) -> list[date]:
    """The days of a year on which the person has settlements not reversed."""
    return list(
        await session.scalars(
            select(Settlement.service_date)
            .where(
                Settlement.person_id == person_id,
                Settlement.status == "settled",
                Settlement.service_date >= date(year, 1, 1),
                Settlement.service_date < date(year + 1, 1, 1),
            )
            .distinct()
            .order_by(Settlement.service_date)
        )
    )


async def flag_uncovered(
    session: AsyncSession, person_id: int, year: int, uncovered: set[date]
) -> int:
    """Flag the person's settlements on days enrollment now says were not covered (once each)."""
    if not uncovered:
        return 0
    rows = await session.execute(
        select(Settlement.id, Settlement.service_date, Settlement.institution_code).where(
            Settlement.person_id == person_id,
            Settlement.status == "settled",
            Settlement.service_date.in_(sorted(uncovered)),
        )
    )
    already = set(
        await session.scalars(
            select(AuditFlag.settlement_id).where(
                AuditFlag.person_id == person_id, AuditFlag.kind == FlagKind.not_covered.value
            )
        )
    )
    added = 0
    for settlement_id, day, institution in rows:
        if settlement_id in already:
            continue
        session.add(
            AuditFlag(
                settlement_id=settlement_id,
                service_date=day,
                person_id=person_id,
                institution_code=institution,
                kind=FlagKind.not_covered.value,
                detail=f"person {person_id} is not covered on {day.isoformat()}",
            )
        )
        added += 1
    return added


async def list_cases(
    session: AsyncSession,
    institution_code: str | None,
    status: str | None,
    after: int | None,
    limit: int,
) -> list[CaseOut]:
    statement = select(AuditCase)
    if institution_code is not None:
        statement = statement.where(AuditCase.institution_code == institution_code)
    if status is not None:
        statement = statement.where(AuditCase.status == status)
    if after is not None:
        statement = statement.where(AuditCase.id > after)
    cases = list(await session.scalars(statement.order_by(AuditCase.id).limit(limit)))
    return [await _case_out(session, case) for case in cases]
