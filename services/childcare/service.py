"""Institutions, the filing lifecycle, staff and the ban list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.childcare.auth import role_of, sees_institution
from services.childcare.domain import filing as machine
from services.childcare.domain.filing import Action, State
from services.childcare.domain.institution import (
    AgeGroup,
    Form,
    Nature,
    RegistrationAuthority,
    ServiceMode,
    particular_errors,
)
from services.childcare.domain.staff import (
    HEALTH_CHECK_INTERVAL,
    StaffRole,
    health_check_due_on,
    health_check_overdue,
)
from services.childcare.models import (
    Ban,
    BanFlag,
    Capacity,
    Fee,
    Filing,
    FilingEvent,
    FilingNumberCounter,
    Institution,
    Staff,
)
from services.childcare.schemas import (
    BanCreate,
    BanFlagOut,
    BanOut,
    CapacityOut,
    ChildcareInstitutionCreate,
    ChildcareInstitutionOut,
    ChildcareInstitutionPatch,
    FacilityFacts,
    FeeIn,
    FeeOut,
    FilingEventOut,
    FilingHistory,
    FilingOut,
    StaffCreate,
    StaffListItem,
    StaffOut,
    StaffPatch,
)
from shared.auth import ClientKind, Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.masking import mask_id_number
from shared.personal_data import STAFF
from shared.regions import county_of, is_known_in_city


def today() -> date:
    return datetime.now(UTC).date()


# --- institutions ----------------------------------------------------------------------------


def _check_particulars(
    *,
    uscc: str,
    nature: Nature,
    authority: RegistrationAuthority,
    form: Form,
    region_code: str,
    capacity: Mapping[AgeGroup, int],
    service_modes: Iterable[ServiceMode],
    fee_modes: Iterable[ServiceMode],
    prefix: str = "body",
) -> None:
    errors = [
        {"field": f"{prefix}.{field}", "message": message}
        for field, message in particular_errors(
            uscc=uscc,
            nature=nature,
            authority=authority,
            form=form,
            capacity=capacity,
            service_modes=service_modes,
            fee_modes=fee_modes,
        )
    ]
    if not is_known_in_city(region_code):
        errors.append(
            {"field": f"{prefix}.region_code", "message": "not a known region of this city"}
        )
    errors.extend(
        {"field": f"{prefix}.capacity.{group.value}", "message": "places cannot be negative"}
        for group, places in capacity.items()
        if places < 0
    )
    if errors:
        raise Unprocessable(errors[0]["message"], errors=errors)


async def create_institution(
    session: AsyncSession, body: ChildcareInstitutionCreate
) -> Institution:
    _check_particulars(
        uscc=body.uscc,
        nature=body.nature,
        authority=body.registration_authority,
        form=body.form,
        region_code=body.region_code,
        capacity=body.capacity,
        service_modes=body.service_modes,
        fee_modes=body.fees.keys(),
    )
    institution = await session.scalar(
        insert(Institution)
        .values(
            uscc=body.uscc,
            name=body.name,
            nature=body.nature.value,
            registration_authority=body.registration_authority.value,
            form=body.form.value,
            region_code=body.region_code,
            address=body.address,
            lat=body.lat,
            lon=body.lon,
            phone=body.phone,
            service_modes=[m.value for m in body.service_modes],
            facilities=body.facilities.model_dump(),
            demonstration=body.demonstration,
        )
        .on_conflict_do_nothing(index_elements=[Institution.uscc])
        .returning(Institution)
    )
    if institution is None:
        raise Conflict(
            "an institution with this credit code is already registered", extra={"field": "uscc"}
        )
    await _replace_capacity(session, institution.id, body.capacity, {})
    await _replace_fees(session, institution.id, body.fees)
    session.add(Filing(institution_id=institution.id, state=State.draft.value, version=0))
    await session.flush()
    return institution


async def list_institutions(
    session: AsyncSession,
    principal: Principal,
    after: Any,
    limit: int,
    region_code: str | None,
    state: State | None,
) -> list[tuple[Institution, Filing]]:
    query = (
        select(Institution, Filing)
        .join(Filing, Filing.institution_id == Institution.id)
        .order_by(Institution.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Institution.id > int(after))
    if principal.kind is ClientKind.childcare_operator:
        query = query.where(Institution.id == int(principal.bound or 0))
    elif principal.kind is ClientKind.childcare_reviewer:
        query = query.where(Institution.region_code.startswith(principal.bound or "-"))
    if region_code:
        query = query.where(Institution.region_code.startswith(region_code))
    if state is not None:
        query = query.where(Filing.state == state.value)
    return [(inst, filing) for inst, filing in await session.execute(query)]


async def _replace_capacity(
    session: AsyncSession,
    institution_id: int,
    capacity: Mapping[AgeGroup, int],
    enrolled: Mapping[str, int],
) -> None:
    await session.execute(delete(Capacity).where(Capacity.institution_id == institution_id))
    rows = [
        {
            "institution_id": institution_id,
            "age_group": group.value,
            "capacity": places,
            "enrolled": min(enrolled.get(group.value, 0), places),
        }
        for group, places in capacity.items()
    ]
    if rows:
        await session.execute(insert(Capacity), rows)


async def _replace_fees(
    session: AsyncSession, institution_id: int, fees: Mapping[ServiceMode, FeeIn]
) -> None:
    await session.execute(delete(Fee).where(Fee.institution_id == institution_id))
    rows = [
        {
            "institution_id": institution_id,
            "service_mode": mode.value,
            "period": fee.period.value,
            "amount": fee.amount,
        }
        for mode, fee in fees.items()
    ]
    if rows:
        await session.execute(insert(Fee), rows)


async def visible_institution(
    session: AsyncSession, principal: Principal, institution_id: int, *, lock: bool = False
) -> tuple[Institution, Filing]:
    """The institution and its filing if this principal may see them, else 404.

    ``lock`` takes the filing row FOR UPDATE so that transitions on one filing serialize.
    """
    query = (
        select(Institution, Filing)
        .join(Filing, Filing.institution_id == Institution.id)
        .where(Institution.id == institution_id)
    )
    if lock:
        query = query.with_for_update(of=Filing)
    row = (await session.execute(query)).first()
    if row is None or not sees_institution(principal, institution_id, row[0].region_code):
        raise NotFound(f"institution {institution_id} not found")
    return row[0], row[1]


def filing_out(filing: Filing, principal: Principal | None) -> FilingOut:
    state = State(filing.state)
    allowed: list[Action] = []
    if principal is not None:
        try:
            allowed = machine.allowed_actions(state, role_of(principal))
        except Forbidden:
            allowed = []
    return FilingOut(
        institution_id=filing.institution_id,
        state=state,
        filing_number=filing.filing_number,
        filed_on=filing.filed_on,
        version=filing.version,
        allowed_actions=allowed,
    )


async def institution_out(
    session: AsyncSession, institution: Institution, filing: Filing, principal: Principal | None
) -> ChildcareInstitutionOut:
    capacities = (
        await session.scalars(
            select(Capacity)
            .where(Capacity.institution_id == institution.id)
            .order_by(Capacity.age_group)
        )
    ).all()
    fees = (
        await session.scalars(
            select(Fee).where(Fee.institution_id == institution.id).order_by(Fee.service_mode)
        )
    ).all()
    return ChildcareInstitutionOut(
        id=institution.id,
        uscc=institution.uscc,
        name=institution.name,
        nature=Nature(institution.nature),
        registration_authority=RegistrationAuthority(institution.registration_authority),
        form=Form(institution.form),
        region_code=institution.region_code,
        address=institution.address,
        lat=institution.lat,
        lon=institution.lon,
        phone=institution.phone,
        capacity=[capacity_out(c) for c in capacities],
        service_modes=[ServiceMode(m) for m in institution.service_modes],
        fees=[fee_out(f) for f in fees],
        facilities=FacilityFacts.model_validate(institution.facilities),
        demonstration=institution.demonstration,
        filing=filing_out(filing, principal),
    )


def capacity_out(c: Capacity) -> CapacityOut:
    return places_out(c.age_group, c.capacity, c.enrolled)


def places_out(age_group: str, capacity: int, enrolled: int) -> CapacityOut:
    """Places of one age group and the vacancy they leave (never below zero)."""
    return CapacityOut(
        age_group=AgeGroup(age_group),
        capacity=capacity,
        enrolled=enrolled,
        vacancy=max(capacity - enrolled, 0),
    )


def fee_out(f: Fee) -> FeeOut:
    return FeeOut(service_mode=ServiceMode(f.service_mode), amount=f.amount, period=f.period)


async def _capacity_map(session: AsyncSession, institution_id: int) -> dict[str, Capacity]:
    rows = await session.scalars(select(Capacity).where(Capacity.institution_id == institution_id))
    return {c.age_group: c for c in rows}


async def apply_patch(
    session: AsyncSession, institution: Institution, patch: ChildcareInstitutionPatch, prefix: str
) -> dict[str, Any]:
    """Applies the given particulars after checking the whole result; returns what changed."""
    current_capacity = await _capacity_map(session, institution.id)
    current_fees = {
        f.service_mode: f
        for f in await session.scalars(select(Fee).where(Fee.institution_id == institution.id))
    }
    capacity = (
        patch.capacity
        if patch.capacity is not None
        else {AgeGroup(k): c.capacity for k, c in current_capacity.items()}
    )
    modes = (
        patch.service_modes
        if patch.service_modes is not None
        else [ServiceMode(m) for m in institution.service_modes]
    )
    fee_modes = patch.fees.keys() if patch.fees is not None else map(ServiceMode, current_fees)
    _check_particulars(
        uscc=institution.uscc,
        nature=patch.nature or Nature(institution.nature),
        authority=patch.registration_authority
        or RegistrationAuthority(institution.registration_authority),
        form=patch.form or Form(institution.form),
        region_code=patch.region_code or institution.region_code,
        capacity=capacity,
        service_modes=modes,
        fee_modes=list(fee_modes),
        prefix=prefix,
    )
    changed = patch.model_dump(mode="json", exclude_unset=True)
    for name in (
        "name",
        "nature",
        "registration_authority",
        "form",
        "region_code",
        "address",
        "lat",
        "lon",
        "phone",
    ):
        if name in changed:
            setattr(institution, name, changed[name])
    if patch.service_modes is not None:
        institution.service_modes = [m.value for m in patch.service_modes]
    if patch.facilities is not None:
        institution.facilities = patch.facilities.model_dump()
    if patch.capacity is not None:
        enrolled = {k: c.enrolled for k, c in current_capacity.items()}
        await _replace_capacity(session, institution.id, patch.capacity, enrolled)
    if patch.fees is not None:
        await _replace_fees(session, institution.id, patch.fees)
    institution.updated_at = datetime.now(UTC)
    await session.flush()
    return changed


async def edit_institution(
    session: AsyncSession,
    principal: Principal,
    institution_id: int,
    patch: ChildcareInstitutionPatch,
) -> tuple[Institution, Filing]:
    """Direct edits while the filing is a draft or returned; afterwards a change is filed."""
    institution, filing = await visible_institution(session, principal, institution_id, lock=True)
    if role_of(principal) is machine.Role.reviewer:
        raise Forbidden("reviewers do not edit an institution's particulars")
    if State(filing.state) not in machine.EDITABLE:
        raise Conflict(
            f"the filing is {filing.state}: file a change (POST .../filings/change) instead"
        )
    await apply_patch(session, institution, patch, "body")
    return institution, filing


async def set_occupancy(
    session: AsyncSession,
    principal: Principal,
    institution_id: int,
    enrolled: Mapping[AgeGroup, int],
) -> None:
    institution, filing = await visible_institution(session, principal, institution_id)
    if role_of(principal) is machine.Role.reviewer:
        raise Forbidden("occupancy is reported by the institution")
    if filing.state == State.deregistered.value:
        raise Conflict("the institution is deregistered")
    capacities = await _capacity_map(session, institution.id)
    for group, count in enrolled.items():
        field = f"body.enrolled.{group.value}"
        current = capacities.get(group.value)
        if current is None:
            raise Unprocessable(f"the institution has no {group.value} places", field=field)
        if not 0 <= count <= current.capacity:
            raise Unprocessable(f"between 0 and the {current.capacity} places", field=field)
        current.enrolled = count
    await session.flush()


# --- filing lifecycle ------------------------------------------------------------------------


async def _next_filing_number(session: AsyncSession, county: str, year: int) -> str:
    """Per-county, per-year sequence; the upsert serializes concurrent approvals."""
    sequence = await session.scalar(
        insert(FilingNumberCounter)
        .values(county_code=county, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[FilingNumberCounter.county_code, FilingNumberCounter.year],
            set_={"last": FilingNumberCounter.last + 1},
        )
        .returning(FilingNumberCounter.last)
    )
    assert sequence is not None
    return machine.filing_number(county, year, sequence)


async def transition(
    session: AsyncSession,
    principal: Principal,
    institution_id: int,
    action: Action,
    reason: str | None,
    changes: ChildcareInstitutionPatch | None = None,
) -> Filing:
    """One step of the lifecycle, or an error with nothing changed (the request rolls back)."""
    institution, filing = await visible_institution(session, principal, institution_id, lock=True)
    role = role_of(principal)
    if role is machine.Role.reviewer and len(principal.bound or "") != 6:
        # The filing authority is the county health commission, not a township office.
        raise Forbidden("filings are reviewed by a county reviewer")
    now = datetime.now(UTC)
    try:
        target = machine.next_state(State(filing.state), action, role)
        if action in machine.REASON_REQUIRED and not (reason and reason.strip()):
            raise machine.ReasonRequired(f"{action.value} needs a reason")
    except machine.RoleNotPermitted as exc:
        raise Forbidden(str(exc)) from None
    except machine.IllegalTransition as exc:
        raise Conflict(str(exc), extra={"state": filing.state, "action": action.value}) from None
    except machine.ReasonRequired as exc:
        raise Unprocessable(str(exc), field="body.reason") from None
    details: dict[str, Any] | None = None
    if action is Action.change:
        assert changes is not None
        details = {"changes": await apply_patch(session, institution, changes, "body.changes")}
    if action is Action.approve:
        filing.filing_number = await _next_filing_number(
            session, county_of(institution.region_code), now.year
        )
        filing.filed_on = now.date()
        details = {"filing_number": filing.filing_number}
    seq = (
        await session.scalar(
            select(func.coalesce(func.max(FilingEvent.seq), 0)).where(
                FilingEvent.institution_id == institution_id
            )
        )
        or 0
    ) + 1
    session.add(
        FilingEvent(
            institution_id=institution_id,
            seq=seq,
            action=action.value,
            from_state=filing.state,
            to_state=target.value,
            role=role.value,
            actor=principal.client_id,
            reason=reason,
            details=details,
            at=now,
        )
    )
    filing.state = target.value
    filing.version += 1
    filing.updated_at = now
    await session.flush()
    return filing


async def history(
    session: AsyncSession, principal: Principal, institution_id: int
) -> FilingHistory:
    _, filing = await visible_institution(session, principal, institution_id)
    events = await session.scalars(
        select(FilingEvent)
        .where(FilingEvent.institution_id == institution_id)
        .order_by(FilingEvent.seq)
    )
    return FilingHistory(
        institution_id=institution_id,
        state=State(filing.state),
        events=[FilingEventOut.model_validate(e) for e in events],
    )


# --- staff and bans --------------------------------------------------------------------------


async def _lock_person(session: AsyncSession, id_number: str) -> None:
    """Serializes hiring and banning of one ID number (a ban can never slip past a hire)."""
    await session.execute(
        text("select pg_advisory_xact_lock(hashtext('childcare-person:' || :id))"),
        {"id": id_number},
    )


def staff_out(s: Staff, on: date, principal: Principal) -> StaffOut:
    """One member of staff, identifiers shown as the personal-data policy says for
    ``principal``."""
    shown = STAFF.shown_to(principal)
    return StaffOut(
        id=s.id,
        institution_id=s.institution_id,
        id_number=shown.id_number(s.id_number),
        name=s.name,
        role=StaffRole(s.role),
        qualification=s.qualification,
        phone=shown.phone(s.phone),
        health_check_on=s.health_check_on,
        health_check_due_on=health_check_due_on(s.health_check_on),
        health_check_overdue=health_check_overdue(s.health_check_on, on),
        training_hours=s.training_hours,
        last_training_on=s.last_training_on,
        hired_on=s.hired_on,
        left_on=s.left_on,
    )


def staff_list_item(s: Staff, on: date) -> StaffListItem:
    return StaffListItem(
        id=s.id,
        institution_id=s.institution_id,
        id_number_masked=mask_id_number(s.id_number),
        name=s.name,
        role=StaffRole(s.role),
        qualification=s.qualification,
        health_check_on=s.health_check_on,
        health_check_due_on=health_check_due_on(s.health_check_on),
        health_check_overdue=health_check_overdue(s.health_check_on, on),
        training_hours=s.training_hours,
        hired_on=s.hired_on,
        left_on=s.left_on,
    )


async def hire(
    session: AsyncSession, principal: Principal, institution_id: int, body: StaffCreate
) -> Staff:
    _, filing = await visible_institution(session, principal, institution_id)
    if role_of(principal) is machine.Role.reviewer:
        raise Forbidden("staff are hired by the institution")
    if filing.state == State.deregistered.value:
        raise Conflict("the institution is deregistered")
    await _lock_person(session, body.id_number)
    if await session.scalar(select(Ban.id).where(Ban.id_number == body.id_number)):
        raise Conflict(
            "this person is on the lifetime ban list and cannot be hired",
            extra={"field": "id_number"},
        )
    staff = await session.scalar(
        insert(Staff)
        .values(
            institution_id=institution_id,
            id_number=body.id_number,
            name=body.name,
            role=body.role.value,
            qualification=body.qualification,
            phone=body.phone,
            health_check_on=body.health_check_on,
            training_hours=body.training_hours,
            last_training_on=body.last_training_on,
            hired_on=body.hired_on,
        )
        .on_conflict_do_nothing(
            index_elements=[Staff.institution_id, Staff.id_number],
            index_where=text("left_on is null"),
        )
        .returning(Staff)
    )
    if staff is None:
        raise Conflict("this person already works here", extra={"field": "id_number"})
    return staff


async def visible_staff(
    session: AsyncSession, principal: Principal, institution_id: int, staff_id: int
) -> Staff:
    await visible_institution(session, principal, institution_id)
    staff = await session.get(Staff, staff_id)
    if staff is None or staff.institution_id != institution_id:
        raise NotFound(f"staff {staff_id} not found")
    return staff


async def edit_staff(
    session: AsyncSession,
    principal: Principal,
    institution_id: int,
    staff_id: int,
    body: StaffPatch,
) -> Staff:
    if role_of(principal) is machine.Role.reviewer:
        raise Forbidden("staff records are kept by the institution")
    staff = await visible_staff(session, principal, institution_id, staff_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(staff, name, value)
    if staff.left_on is not None and staff.left_on < staff.hired_on:
        raise Unprocessable("cannot leave before being hired", field="body.left_on")
    await session.flush()
    return staff


async def list_staff(
    session: AsyncSession,
    principal: Principal,
    institution_id: int,
    after: int | None,
    limit: int,
    overdue_on: date | None,
    current_only: bool,
) -> list[Staff]:
    await visible_institution(session, principal, institution_id)
    query = (
        select(Staff).where(Staff.institution_id == institution_id).order_by(Staff.id).limit(limit)
    )
    if after is not None:
        query = query.where(Staff.id > after)
    if current_only:
        query = query.where(Staff.left_on.is_(None))
    if overdue_on is not None:
        cutoff = overdue_on - HEALTH_CHECK_INTERVAL
        query = query.where((Staff.health_check_on.is_(None)) | (Staff.health_check_on < cutoff))
    return list(await session.scalars(query))


async def ban(session: AsyncSession, principal: Principal, body: BanCreate) -> BanOut:
    """Adds a person to the ban list and flags every institution that employs them now."""
    await _lock_person(session, body.id_number)
    row = await session.scalar(
        insert(Ban)
        .values(
            id_number=body.id_number,
            name=body.name,
            reason=body.reason,
            banned_by=principal.client_id,
        )
        .on_conflict_do_nothing(index_elements=[Ban.id_number])
        .returning(Ban)
    )
    if row is None:
        raise Conflict("this person is already on the ban list", extra={"field": "id_number"})
    employed = (
        await session.scalars(
            select(Staff).where(Staff.id_number == body.id_number, Staff.left_on.is_(None))
        )
    ).all()
    for staff in employed:
        session.add(BanFlag(ban_id=row.id, institution_id=staff.institution_id, staff_id=staff.id))
    await session.flush()
    return BanOut(
        id=row.id,
        id_number_masked=mask_id_number(row.id_number),
        name=row.name,
        reason=row.reason,
        banned_at=row.banned_at,
        flagged_institution_ids=sorted({s.institution_id for s in employed}),
    )


async def list_bans(session: AsyncSession, after: int | None, limit: int) -> list[BanOut]:
    query = select(Ban).order_by(Ban.id).limit(limit)
    if after is not None:
        query = query.where(Ban.id > after)
    bans = (await session.scalars(query)).all()
    flags: dict[int, set[int]] = {}
    if bans:
        for ban_id, institution_id in await session.execute(
            select(BanFlag.ban_id, BanFlag.institution_id).where(
                BanFlag.ban_id.in_([b.id for b in bans])
            )
        ):
            flags.setdefault(ban_id, set()).add(institution_id)
    return [
        BanOut(
            id=b.id,
            id_number_masked=mask_id_number(b.id_number),
            name=b.name,
            reason=b.reason,
            banned_at=b.banned_at,
            flagged_institution_ids=sorted(flags.get(b.id, ())),
        )
        for b in bans
    ]


async def list_ban_flags(
    session: AsyncSession,
    principal: Principal,
    after: int | None,
    limit: int,
    open_only: bool,
) -> list[BanFlagOut]:
    query = (
        select(BanFlag, Institution, Staff)
        .join(Institution, Institution.id == BanFlag.institution_id)
        .join(Staff, Staff.id == BanFlag.staff_id)
        .order_by(BanFlag.id)
        .limit(limit)
    )
    if not principal.is_admin:
        query = query.where(Institution.region_code.startswith(principal.bound or "-"))
    if after is not None:
        query = query.where(BanFlag.id > after)
    if open_only:
        query = query.where(BanFlag.resolved_at.is_(None))
    return [
        BanFlagOut(
            id=flag.id,
            ban_id=flag.ban_id,
            institution_id=inst.id,
            institution_name=inst.name,
            region_code=inst.region_code,
            staff_id=staff.id,
            staff_name=staff.name,
            id_number_masked=mask_id_number(staff.id_number),
            created_at=flag.created_at,
            resolved_at=flag.resolved_at,
        )
        for flag, inst, staff in await session.execute(query)
    ]


async def resolve_flags_on_leave(session: AsyncSession, staff: Staff) -> None:
    """A flag is resolved once the banned person has left the institution."""
    if staff.left_on is not None:
        await session.execute(
            update(BanFlag)
            .where(BanFlag.staff_id == staff.id, BanFlag.resolved_at.is_(None))
            .values(resolved_at=datetime.now(UTC))
        )
