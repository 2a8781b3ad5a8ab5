"""Enrollment rules: persons, coverage, approvals, filings, employers, money and transfers."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment import access, repository
from services.enrollment.auth import ensure_may_touch, may_touch
from services.enrollment.domain import voucher
from services.enrollment.domain.periods import EARLIEST, LATEST, first_overlap
from services.enrollment.domain.transfers import (
    IllegalTransition,
    TransferAction,
    TransferState,
    next_state,
)
from services.enrollment.models import (
    Contribution,
    ContributionBatch,
    Coverage,
    Employer,
    OffsiteFiling,
    Person,
    Qualification,
    Transfer,
)
from services.enrollment.repository import HotPath, PersonRepository
from services.enrollment.schemas import (
    TWO_DISEASES,
    ContributionCreate,
    ContributionOut,
    CoveragePeriodCreate,
    CoveragePeriodOut,
    EmployerCreate,
    EmployerOut,
    FilingKind,
    GovernmentBatchCreate,
    GovernmentBatchOut,
    OffsiteFilingCreate,
    OffsiteFilingOut,
    PersonCreate,
    PersonListItem,
    PersonOut,
    QualificationCreate,
    QualificationKind,
    QualificationOut,
    Scheme,
    StaffAction,
    StaffChangeResult,
    StaffChanges,
    TransferCreate,
    TransferOut,
    VoucherCode,
    VoucherResolved,
)
from shared.auth import ClientKind, Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.masking import mask_id_number
from shared.personal_data import PERSON
from shared.regions import is_in_city
from shared.validators import birth_date_of

CHINA = timezone(timedelta(hours=8))


def today() -> date:
    """The bureau's calendar day (China Standard Time)."""
    return datetime.now(CHINA).date()


def recorded(principal: Principal) -> dict[str, Any]:
    return {
        "recorded_by": principal.client_id,
        "station_id": principal.bound if principal.kind is ClientKind.station else None,
    }


def _check_period(start: date, end: date | None, prefix: str = "body") -> None:
    if end is not None and end < start:
        raise Unprocessable("the end date is before the start date", field=f"{prefix}.end_date")
    if start < EARLIEST:
        raise Unprocessable(f"dates start at {EARLIEST}", field=f"{prefix}.start_date")
    if (end or start) > LATEST:
        raise Unprocessable(f"dates end at {LATEST}", field=f"{prefix}.end_date")


# --- persons ---------------------------------------------------------------------------------


def person_out(person: Person, principal: Principal) -> PersonOut:
    """One person, identifiers shown as the personal-data policy says for ``principal``."""
    shown = PERSON.shown_to(principal)
    return PersonOut(
        person_id=person.id,
        id_number=shown.id_number(person.id_number),
        name=person.name,
        birth_date=person.birth_date,
        region_code=person.region_code,
        phone=shown.phone(person.phone),
        poverty=person.poverty,
    )


def person_list_item(person: Person) -> PersonListItem:
    return PersonListItem(
        person_id=person.id,
        id_number_masked=mask_id_number(person.id_number),
        name=person.name,
        region_code=person.region_code,
        poverty=person.poverty,
    )


async def register_person(session: AsyncSession, data: PersonCreate) -> Person:
    """One person per ID number: a second registration is a conflict, never a second row."""
    statement = (
        pg_insert(Person)
        .values(
            id_number=data.id_number,
            name=data.name,
            birth_date=birth_date_of(data.id_number),
            region_code=data.region_code,
            phone=data.phone,
            poverty=data.poverty,
        )
        .on_conflict_do_nothing(index_elements=[Person.id_number])
        .returning(Person)
    )
    person = await session.scalar(statement)
    if person is None:
        raise Conflict(
            "a person with this ID number is already enrolled", extra={"field": "id_number"}
        )
    return person


async def get_visible_person(session: AsyncSession, principal: Principal, person_id: int) -> Person:
    """The person, if this principal may see them: staff anyone, an app token only its own.

    Someone else's person is 404, not 403, so IDs cannot be probed.
    """
    ensure_may_touch(principal, person_id)
    person = await PersonRepository(session).get(person_id)
    if person is None:
        raise NotFound(f"person {person_id} not found")
    return person


async def lock_visible_person(
    session: AsyncSession, principal: Principal, person_id: int
) -> Person:
    ensure_may_touch(principal, person_id)
    person = await PersonRepository(session).lock(person_id)
    if person is None:
        raise NotFound(f"person {person_id} not found")
    return person


# --- coverage --------------------------------------------------------------------------------


def coverage_out(row: Coverage) -> CoveragePeriodOut:
    return CoveragePeriodOut(
        coverage_id=row.id,
        person_id=row.person_id,
        scheme=Scheme(row.scheme),
        start_date=row.start_date,
        end_date=row.end_date,
        retired=row.retired,
        employer_uscc=row.employer_uscc,
    )


def _describe(row: Coverage) -> str:
    return f"{row.scheme} coverage {row.id} ({row.start_date} to {row.end_date or 'open'})"


async def _employer_exists(session: AsyncSession, uscc: str) -> bool:
    return (await session.scalar(select(Employer.id).where(Employer.uscc == uscc))) is not None


async def _flush_periods(session: AsyncSession) -> None:
    """Surfaces the exclusion constraint (the backstop for a check that raced) as a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "ex_coverages_no_overlap" in str(exc.orig):
            raise Conflict("the period overlaps another coverage period of this person") from None
        raise


async def add_coverage(
    session: AsyncSession, principal: Principal, person_id: int, data: CoveragePeriodCreate
) -> Coverage:
    _check_period(data.start_date, data.end_date)
    if data.scheme is Scheme.employee:
        if data.employer_uscc is None and not data.retired:
            raise Unprocessable(
                "an employee coverage names the employer", field="body.employer_uscc"
            )
    elif data.employer_uscc is not None or data.retired:
        field = "body.employer_uscc" if data.employer_uscc is not None else "body.retired"
        raise Unprocessable("a resident coverage has no employer and no retired flag", field=field)
    if data.employer_uscc is not None and not await _employer_exists(session, data.employer_uscc):
        raise Unprocessable("no employer with this code is registered", field="body.employer_uscc")
    await lock_visible_person(session, principal, person_id)
    clash = first_overlap(
        data.start_date, data.end_date, await repository.coverages_of(session, [person_id])
    )
    if clash is not None:
        raise Conflict(f"the period overlaps {_describe(clash)}")
    row = Coverage(
        person_id=person_id,
        scheme=data.scheme.value,
        start_date=data.start_date,
        end_date=data.end_date,
        retired=data.retired,
        employer_uscc=data.employer_uscc,
        **recorded(principal),
    )
    session.add(row)
    await _flush_periods(session)
    await access.record(session, principal, [person_id], "coverage.create")
    return row


async def end_coverage(
    session: AsyncSession, principal: Principal, person_id: int, coverage_id: int, end: date
) -> Coverage:
    await lock_visible_person(session, principal, person_id)
    periods = await repository.coverages_of(session, [person_id])
    row = next((c for c in periods if c.id == coverage_id), None)
    if row is None:
        raise NotFound(f"coverage {coverage_id} of person {person_id} not found")
    _check_period(row.start_date, end)
    clash = first_overlap(row.start_date, end, (c for c in periods if c.id != coverage_id))
    if clash is not None:
        raise Conflict(f"the period would overlap {_describe(clash)}")
    row.end_date = end
    await _flush_periods(session)
    await access.record(session, principal, [person_id], "coverage.end")
    return row


RecordT = TypeVar("RecordT", Qualification, OffsiteFiling, Contribution, Transfer)


async def _records_of(
    session: AsyncSession,
    principal: Principal,
    person_id: int,
    model: type[RecordT],
    action: str,
    *order_by: Any,
) -> list[RecordT]:
    """A person's rows of one kind, if this principal may see the person; the read is logged."""
    await get_visible_person(session, principal, person_id)
    await access.record(session, principal, [person_id], action)
    column = model.person_id
    return list(await session.scalars(select(model).where(column == person_id).order_by(*order_by)))


async def list_coverages(
    session: AsyncSession, principal: Principal, person_id: int
) -> list[Coverage]:
    await get_visible_person(session, principal, person_id)
    await access.record(session, principal, [person_id], "coverage.read")
    return await repository.coverages_of(session, [person_id])


# --- qualifications --------------------------------------------------------------------------


def qualification_out(row: Qualification) -> QualificationOut:
    return QualificationOut(
        qualification_id=row.id,
        person_id=row.person_id,
        kind=QualificationKind(row.kind),
        disease_code=row.disease_code,
        start_date=row.start_date,
        end_date=row.end_date,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
    )


async def add_qualification(
    session: AsyncSession, principal: Principal, person_id: int, data: QualificationCreate
) -> Qualification:
    _check_period(data.start_date, data.end_date)
    if data.kind is QualificationKind.two_disease and data.disease_code not in TWO_DISEASES:
        raise Unprocessable(
            "a two-disease approval is for hypertension or diabetes", field="body.disease_code"
        )
    await lock_visible_person(session, principal, person_id)
    active = await session.scalars(
        select(Qualification).where(
            Qualification.person_id == person_id,
            Qualification.kind == data.kind.value,
            Qualification.disease_code == data.disease_code,
            Qualification.cancelled_at.is_(None),
        )
    )
    clash = first_overlap(data.start_date, data.end_date, active)
    if clash is not None:
        raise Conflict(
            f"approval {clash.id} for {data.disease_code} already covers part of this period"
        )
    row = Qualification(
        person_id=person_id,
        kind=data.kind.value,
        disease_code=data.disease_code,
        start_date=data.start_date,
        end_date=data.end_date,
        **recorded(principal),
    )
    session.add(row)
    await session.flush()
    await access.record(session, principal, [person_id], "qualification.create")
    return row


async def list_qualifications(
    session: AsyncSession, principal: Principal, person_id: int
) -> list[Qualification]:
    return await _records_of(
        session, principal, person_id, Qualification, "qualification.read", Qualification.id
    )


async def cancel_qualification(
    session: AsyncSession,
    principal: Principal,
    person_id: int,
    qualification_id: int,
    reason: str | None,
) -> Qualification:
    await lock_visible_person(session, principal, person_id)
    row = await session.get(Qualification, qualification_id)
    if row is None or row.person_id != person_id:
        raise NotFound(f"qualification {qualification_id} of person {person_id} not found")
    if row.cancelled_at is not None:
        raise Conflict(f"qualification {qualification_id} is already cancelled")
    row.cancelled_at = datetime.now(UTC)
    row.cancel_reason = reason
    await session.flush()
    await access.record(session, principal, [person_id], "qualification.cancel")
    return row


# --- off-site filings ------------------------------------------------------------------------


def filing_out(row: OffsiteFiling) -> OffsiteFilingOut:
    return OffsiteFilingOut(
        filing_id=row.id,
        person_id=row.person_id,
        kind=FilingKind(row.kind),
        destination_region=row.destination_region,
        start_date=row.start_date,
        end_date=row.end_date,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
    )


async def add_filing(
    session: AsyncSession, principal: Principal, person_id: int, data: OffsiteFilingCreate
) -> OffsiteFiling:
    _check_period(data.start_date, data.end_date)
    if is_in_city(data.destination_region):
        raise Unprocessable(
            "an off-site filing's destination is outside the city",
            field="body.destination_region",
        )
    # Only an emergency may be filed after the fact; the person's own app cannot backdate others.
    if (
        principal.kind is ClientKind.app
        and data.kind is not FilingKind.emergency
        and data.start_date < today()
    ):
        raise Unprocessable(
            "only an emergency filing may start before today", field="body.start_date"
        )
    await lock_visible_person(session, principal, person_id)
    row = OffsiteFiling(
        person_id=person_id,
        kind=data.kind.value,
        destination_region=data.destination_region,
        start_date=data.start_date,
        end_date=data.end_date,
        **recorded(principal),
    )
    session.add(row)
    await session.flush()
    await access.record(session, principal, [person_id], "offsite_filing.create")
    return row


async def list_filings(
    session: AsyncSession, principal: Principal, person_id: int
) -> list[OffsiteFiling]:
    return await _records_of(
        session, principal, person_id, OffsiteFiling, "offsite_filing.read", OffsiteFiling.id
    )


async def cancel_filing(
    session: AsyncSession, principal: Principal, person_id: int, filing_id: int, reason: str | None
) -> OffsiteFiling:
    await lock_visible_person(session, principal, person_id)
    row = await session.get(OffsiteFiling, filing_id)
    if row is None or row.person_id != person_id:
        raise NotFound(f"off-site filing {filing_id} of person {person_id} not found")
    if row.cancelled_at is not None:
        raise Conflict(f"off-site filing {filing_id} is already cancelled")
    row.cancelled_at = datetime.now(UTC)
    row.cancel_reason = reason
    await session.flush()
    await access.record(session, principal, [person_id], "offsite_filing.cancel")
    return row


# --- eligibility -----------------------------------------------------------------------------


async def eligibility(
    hot: HotPath, principal: Principal, person_id: int, day: date
) -> dict[str, Any]:
    ensure_may_touch(principal, person_id)
    log = access.log_fields(principal, "eligibility.read") if access.is_audited(principal) else None
    answer = await hot.eligibility(person_id, day, log)
    if answer is None:
        raise NotFound(f"person {person_id} not found")
    return answer


async def eligibility_batch(
    hot: HotPath, principal: Principal, asked: list[tuple[int, date, str | None]]
) -> list[dict[str, Any]]:
    """Each answer as in :func:`eligibility`, a person this client may not see being 404 alike."""
    visible = [n for n, (person_id, _, _) in enumerate(asked) if may_touch(principal, person_id)]
    log = access.log_fields(principal, "eligibility.read") if access.is_audited(principal) else None
    docs = await hot.eligibility_batch([asked[n] for n in visible], log) if visible else []
    answers: list[dict[str, Any]] = [{"status": 404, "eligibility": None}] * len(asked)
    for n, doc in zip(visible, docs, strict=True):
        if doc is not None:
            answers[n] = {"status": 200, "eligibility": doc}
    return answers


# --- voucher codes ---------------------------------------------------------------------------


class VoucherInvalid(Unprocessable):
    title = "Voucher code invalid"
    slug = "voucher-invalid"


class VoucherExpired(Unprocessable):
    title = "Voucher code expired"
    slug = "voucher-expired"


async def issue_voucher(
    session: AsyncSession, principal: Principal, person_id: int, key: bytes, lifetime: int
) -> VoucherCode:
    await get_visible_person(session, principal, person_id)
    expires = int(time.time()) + lifetime
    await access.record(session, principal, [person_id], "voucher.issue")
    return VoucherCode(
        code=voucher.issue(key, person_id, expires),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def check_voucher(key: bytes, code: str, field: str = "body.code") -> voucher.Voucher:
    try:
        return voucher.verify(key, code, time.time())
    except voucher.VoucherExpired as exc:
        raise VoucherExpired(str(exc), field=field) from None
    except voucher.VoucherError as exc:
        raise VoucherInvalid(str(exc), field=field) from None


async def resolve_voucher(
    hot: HotPath, principal: Principal, key: bytes, code: str
) -> VoucherResolved:
    found = check_voucher(key, code)
    person = await hot.voucher_person(
        found.person_id, access.log_fields(principal, "voucher.resolve")
    )
    if person is None:
        raise VoucherInvalid("the voucher code's person is not enrolled", field="body.code")
    person_id, name, id_number = person
    return VoucherResolved(
        person_id=person_id,
        expires_at=found.expires_at,
        name=name,
        id_number_masked=mask_id_number(id_number),
    )


# --- employers and staff changes -------------------------------------------------------------


def employer_out(row: Employer) -> EmployerOut:
    return EmployerOut(uscc=row.uscc, name=row.name, region_code=row.region_code)


async def register_employer(session: AsyncSession, data: EmployerCreate) -> Employer:
    row = await session.scalar(
        pg_insert(Employer)
        .values(uscc=data.uscc, name=data.name, region_code=data.region_code)
        .on_conflict_do_nothing(index_elements=[Employer.uscc])
        .returning(Employer)
    )
    if row is None:
        raise Conflict(
            "an employer with this credit code is already registered", extra={"field": "uscc"}
        )
    return row


async def get_employer(session: AsyncSession, uscc: str) -> Employer:
    row = await session.scalar(select(Employer).where(Employer.uscc == uscc))
    if row is None:
        raise NotFound(f"employer {uscc} not found")
    return row


async def apply_staff_changes(
    session: AsyncSession, principal: Principal, uscc: str, batch: StaffChanges
) -> StaffChangeResult:
    """人员增减: every row applies or none does; a 422 lists each wrong row by its index."""
    await get_employer(session, uscc)
    rows = batch.changes
    errors: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row.id_number in seen:
            errors.append(
                {
                    "field": f"body.changes.{index}.id_number",
                    "message": f"the same person is already in row {seen[row.id_number]}",
                }
            )
        seen.setdefault(row.id_number, index)
    persons = await PersonRepository(session).lock_by_id_numbers(list(seen))
    periods: dict[int, list[Coverage]] = {}
    for coverage in await repository.coverages_of(session, [p.id for p in persons.values()]):
        periods.setdefault(coverage.person_id, []).append(coverage)

    additions: list[dict[str, Any]] = []
    removals: list[tuple[Coverage, date]] = []
    for index, row in enumerate(rows):
        if seen[row.id_number] != index:
            continue
        person = persons.get(row.id_number)
        if person is None:
            errors.append(
                {
                    "field": f"body.changes.{index}.id_number",
                    "message": "no person is enrolled with this ID number",
                }
            )
            continue
        own = periods.get(person.id, [])
        if row.action is StaffAction.add:
            clash = first_overlap(row.date, None, own)
            if clash is not None:
                errors.append(
                    {
                        "field": f"body.changes.{index}.date",
                        "message": f"overlaps {_describe(clash)}; end it first",
                    }
                )
                continue
            additions.append(
                {
                    "person_id": person.id,
                    "scheme": Scheme.employee.value,
                    "start_date": row.date,
                    "end_date": None,
                    "retired": row.retired,
                    "employer_uscc": uscc,
                    **recorded(principal),
                }
            )
        else:
            current = next(
                (
                    c
                    for c in own
                    if c.employer_uscc == uscc
                    and c.start_date <= row.date
                    and (c.end_date is None or c.end_date > row.date)
                ),
                None,
            )
            if current is None:
                errors.append(
                    {
                        "field": f"body.changes.{index}.date",
                        "message": "no coverage with this employer runs past this date",
                    }
                )
                continue
            removals.append((current, row.date))
    if errors:
        errors.sort(key=lambda e: int(e["field"].split(".")[2]))
        raise Unprocessable(
            f"{len(errors)} of {len(rows)} rows are wrong; nothing was changed", errors=errors
        )
    for coverage, last_day in removals:
        coverage.end_date = last_day
    await _flush_periods(session)
    if additions:
        await session.execute(insert(Coverage), additions)
    await access.record(session, principal, [p.id for p in persons.values()], "staff_change")
    return StaffChangeResult(uscc=uscc, added=len(additions), removed=len(removals))


# --- contributions ---------------------------------------------------------------------------


def contribution_out(row: Contribution) -> ContributionOut:
    return ContributionOut.model_validate(
        {
            "contribution_id": row.id,
            "person_id": row.person_id,
            "year": row.year,
            "scheme": row.scheme,
            "payer": row.payer,
            "amount": row.amount,
            "paid_on": row.paid_on,
            "batch_id": row.batch_id,
        }
    )


async def add_contribution(
    session: AsyncSession, principal: Principal, person_id: int, data: ContributionCreate
) -> Contribution:
    await get_visible_person(session, principal, person_id)
    row = Contribution(
        person_id=person_id,
        year=data.year,
        scheme=data.scheme.value,
        payer=data.payer.value,
        amount=data.amount,
        paid_on=data.paid_on,
        **recorded(principal),
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"the government already paid for this person's {data.year}") from None
    await access.record(session, principal, [person_id], "contribution.create")
    return row


async def contribution_history(
    session: AsyncSession, principal: Principal, person_id: int
) -> list[Contribution]:
    return await _records_of(
        session,
        principal,
        person_id,
        Contribution,
        "contribution.read",
        Contribution.year.desc(),
        Contribution.id.desc(),
    )


_GOVERNMENT_BATCH = text(
    """
    WITH paid AS (
      INSERT INTO contributions
        (person_id, year, scheme, payer, amount, paid_on, batch_id, recorded_by)
      SELECT p.id, :year, 'resident', 'government', :amount, :paid_on, :batch_id, :recorded_by
        FROM persons p
       WHERE p.poverty
      ON CONFLICT (person_id, year) WHERE payer = 'government' DO NOTHING
      RETURNING 1
    )
    UPDATE contribution_batches
       SET persons = (SELECT count(*) FROM paid),
           total = (SELECT count(*) FROM paid) * :amount
     WHERE id = :batch_id
    RETURNING persons, total
    """
)


async def government_batch(
    session: AsyncSession, principal: Principal, data: GovernmentBatchCreate
) -> GovernmentBatchOut:
    """财政代缴: one statement pays for every poverty person the government has not yet paid for.

    Contributions are not logged per person here: the batch row names who ran it, and the
    contributions carry the batch id.
    """
    batch = ContributionBatch(
        year=data.year, amount_per_person=data.amount_per_person, recorded_by=principal.client_id
    )
    session.add(batch)
    await session.flush()
    persons, total = (
        await session.execute(
            _GOVERNMENT_BATCH,
            {
                "year": data.year,
                "amount": data.amount_per_person,
                "paid_on": data.paid_on,
                "batch_id": batch.id,
                "recorded_by": principal.client_id,
            },
        )
    ).one()
    return GovernmentBatchOut(
        batch_id=batch.id,
        year=data.year,
        amount_per_person=data.amount_per_person,
        persons=persons,
        total=Decimal(total),
    )


# --- transfers -------------------------------------------------------------------------------


def transfer_out(row: Transfer) -> TransferOut:
    return TransferOut.model_validate(
        {
            "transfer_id": row.id,
            "person_id": row.person_id,
            "direction": row.direction,
            "other_region": row.other_region,
            "effective_date": row.effective_date,
            "state": row.state,
            "reason": row.reason,
        }
    )


async def request_transfer(
    session: AsyncSession, principal: Principal, person_id: int, data: TransferCreate
) -> Transfer:
    if is_in_city(data.other_region):
        raise Unprocessable(
            "a transfer is into or out of the city: the other region is outside it",
            field="body.other_region",
        )
    await get_visible_person(session, principal, person_id)
    row = Transfer(
        person_id=person_id,
        direction=data.direction.value,
        other_region=data.other_region,
        effective_date=data.effective_date,
        state=TransferState.requested.value,
        reason=data.reason,
        **recorded(principal),
    )
    session.add(row)
    await session.flush()
    await access.record(session, principal, [person_id], "transfer.request")
    return row


async def list_transfers(
    session: AsyncSession, principal: Principal, person_id: int
) -> list[Transfer]:
    return await _records_of(session, principal, person_id, Transfer, "transfer.read", Transfer.id)


async def move_transfer(
    session: AsyncSession,
    principal: Principal,
    transfer_id: int,
    action: TransferAction,
    reason: str | None = None,
) -> Transfer:
    row = await session.scalar(select(Transfer).where(Transfer.id == transfer_id).with_for_update())
    if row is None:
        raise NotFound(f"transfer {transfer_id} not found")
    try:
        state = next_state(TransferState(row.state), action)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    row.state = state.value
    if reason is not None:
        row.reason = reason
    if state is TransferState.completed and row.direction == "out":
        # The relationship leaves the city: local coverage ends the day before it does.
        await PersonRepository(session).lock(row.person_id)
        last_day = row.effective_date - timedelta(days=1)
        await session.execute(
            update(Coverage)
            .where(
                Coverage.person_id == row.person_id,
                Coverage.start_date <= last_day,
                (Coverage.end_date.is_(None)) | (Coverage.end_date > last_day),
            )
            .values(end_date=last_day)
        )
    await session.flush()
    await access.record(session, principal, [row.person_id], f"transfer.{action.value}")
    return row
