"""Inspections, double-random draws, credit ratings, public disclosure and statistics."""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from services.childcare.auth import role_of, sees_region
from services.childcare.domain import credit, draw
from services.childcare.domain.credit import InspectionFacts, Rating, Result, Severity
from services.childcare.domain.filing import Role, State
from services.childcare.domain.institution import AgeGroup, Form, Nature, ServiceMode
from services.childcare.domain.staff import InspectionLevel
from services.childcare.models import (
    BanFlag,
    Capacity,
    Draw,
    Fee,
    Filing,
    Inspection,
    Inspector,
    Institution,
    Target,
)
from services.childcare.schemas import (
    CityStats,
    CountyStats,
    CreditOut,
    DrawCheck,
    DrawCreate,
    DrawOut,
    Finding,
    InspectionCreate,
    InspectionOut,
    InspectorCreate,
    LatestInspection,
    PublicDraw,
    PublicDrawInstitution,
    PublicInstitution,
    StatsOut,
    TargetProgress,
)
from services.childcare.service import capacity_out, fee_out, today, visible_institution
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.regions import CITY_CODE, counties, is_known_in_city

FILED_STATES = (State.approved.value, State.suspended.value)
EARTH_RADIUS_M = 6_371_000.0

# --- inspections -----------------------------------------------------------------------------


def _max_severity(findings: Iterable[dict[str, Any]]) -> Severity | None:
    order = [Severity.minor, Severity.major, Severity.critical]
    found = [Severity(f["severity"]) for f in findings]
    return max(found, key=order.index) if found else None


def inspection_out(i: Inspection) -> InspectionOut:
    return InspectionOut(
        id=i.id,
        institution_id=i.institution_id,
        level=InspectionLevel(i.level),
        inspected_on=i.inspected_on,
        inspector_ids=list(i.inspector_ids),
        result=Result(i.result),
        findings=[Finding.model_validate(f) for f in i.findings],
        max_severity=_max_severity(i.findings),
        rectification_deadline=i.rectification_deadline,
        rectified_on=i.rectified_on,
        reinspection_of=i.reinspection_of,
        draw_id=i.draw_id,
    )


async def create_inspector(session: AsyncSession, body: InspectorCreate) -> Inspector:
    if not is_known_in_city(body.region_code):
        raise Unprocessable("not a known region of this city", field="body.region_code")
    if await session.scalar(select(Inspector.id).where(Inspector.code == body.code)):
        raise Conflict("an inspector with this code exists", extra={"field": "code"})
    inspector = Inspector(**body.model_dump(mode="json"))
    session.add(inspector)
    await session.flush()
    return inspector


async def list_inspectors(session: AsyncSession, region_code: str | None) -> list[Inspector]:
    query = select(Inspector).order_by(Inspector.id)
    if region_code:
        query = query.where(Inspector.region_code.startswith(region_code))
    return list(await session.scalars(query))


def _check_level(principal: Principal, level: InspectionLevel) -> None:
    if principal.is_admin:
        return
    if level is InspectionLevel.city:
        raise Forbidden("city-level inspections are recorded by the city commission (admin)")
    if level is InspectionLevel.county and len(principal.bound or "") != 6:
        raise Forbidden("county-level inspections are recorded by a county reviewer")


async def create_inspection(
    session: AsyncSession, principal: Principal, institution_id: int, body: InspectionCreate
) -> Inspection:
    institution, _ = await visible_institution(session, principal, institution_id)
    if role_of(principal) is Role.operator:
        raise Forbidden("inspections are recorded by reviewers")
    _check_level(principal, body.level)
    if body.inspected_on > today():
        raise Unprocessable("an inspection cannot be in the future", field="body.inspected_on")
    if body.inspector_ids:
        known = set(
            await session.scalars(select(Inspector.id).where(Inspector.id.in_(body.inspector_ids)))
        )
        missing = [i for i in body.inspector_ids if i not in known]
        if missing:
            raise Unprocessable(f"unknown inspectors {missing}", field="body.inspector_ids")
    serious = any(f.severity is not Severity.minor for f in body.findings)
    needs_deadline = body.result is not Result.passed or serious
    if needs_deadline and body.rectification_deadline is None:
        raise Unprocessable(
            "findings to rectify need a rectification deadline",
            field="body.rectification_deadline",
        )
    if body.rectification_deadline is not None and body.rectification_deadline < body.inspected_on:
        raise Unprocessable(
            "the deadline is before the inspection", field="body.rectification_deadline"
        )
    if body.result is Result.passed and serious:
        raise Unprocessable(
            "a major or critical finding cannot be a pass; use rectify or fail",
            field="body.result",
        )
    original: Inspection | None = None
    if body.reinspection_of is not None:
        original = await session.get(Inspection, body.reinspection_of, with_for_update=True)
        if original is None or original.institution_id != institution_id:
            raise Unprocessable(
                "not an inspection of this institution", field="body.reinspection_of"
            )
        if original.rectification_deadline is None:
            raise Unprocessable(
                "that inspection asked for no rectification", field="body.reinspection_of"
            )
        if original.rectified_on is not None:
            raise Conflict("that inspection's rectification is already confirmed")
        if body.inspected_on < original.inspected_on:
            raise Unprocessable(
                "a re-inspection comes after the inspection", field="body.inspected_on"
            )
    if body.draw_id is not None:
        drawn = await session.get(Draw, body.draw_id)
        if drawn is None or institution_id not in drawn.institution_ids:
            raise Unprocessable("that draw did not pick this institution", field="body.draw_id")
    inspection = Inspection(
        institution_id=institution.id,
        level=body.level.value,
        inspected_on=body.inspected_on,
        inspector_ids=body.inspector_ids,
        result=body.result.value,
        findings=[f.model_dump(mode="json") for f in body.findings],
        rectification_deadline=body.rectification_deadline,
        reinspection_of=body.reinspection_of,
        draw_id=body.draw_id,
        created_by=principal.client_id,
    )
    session.add(inspection)
    if original is not None and body.result is Result.passed:
        original.rectified_on = body.inspected_on
    await session.flush()
    return inspection


async def list_inspections(
    session: AsyncSession, principal: Principal, institution_id: int
) -> list[Inspection]:
    await visible_institution(session, principal, institution_id)
    return list(
        await session.scalars(
            select(Inspection)
            .where(Inspection.institution_id == institution_id)
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        )
    )


# --- credit ----------------------------------------------------------------------------------


async def _facts_by_institution(
    session: AsyncSession, institution_ids: Sequence[int]
) -> dict[int, list[InspectionFacts]]:
    out: dict[int, list[InspectionFacts]] = defaultdict(list)
    if not institution_ids:
        return out
    rows = await session.scalars(
        select(Inspection).where(Inspection.institution_id.in_(institution_ids))
    )
    for i in rows:
        out[i.institution_id].append(
            InspectionFacts(
                inspected_on=i.inspected_on,
                result=Result(i.result),
                severities=tuple(Severity(f["severity"]) for f in i.findings),
                rectification_deadline=i.rectification_deadline,
                rectified_on=i.rectified_on,
            )
        )
    return out


async def credit_ratings(session: AsyncSession, region_prefix: str) -> list[CreditOut]:
    """Ratings of filed institutions (approved or suspended) under ``region_prefix``."""
    institutions = (
        await session.scalars(
            select(Institution)
            .join(Filing, Filing.institution_id == Institution.id)
            .where(
                Filing.state.in_(FILED_STATES), Institution.region_code.startswith(region_prefix)
            )
            .order_by(Institution.id)
        )
    ).all()
    facts = await _facts_by_institution(session, [i.id for i in institutions])
    on = today()
    out = []
    for inst in institutions:
        evaluation = credit.evaluate(facts.get(inst.id, []), on)
        out.append(
            CreditOut(
                institution_id=inst.id,
                name=inst.name,
                region_code=inst.region_code,
                score=evaluation.score,
                rating=evaluation.rating,
                inspections=evaluation.inspections,
                red_list=evaluation.red_list,
                black_list=evaluation.black_list,
            )
        )
    return out


# --- double random ---------------------------------------------------------------------------


def draw_out(d: Draw) -> DrawOut:
    return DrawOut(
        id=d.id,
        region_code=d.region_code,
        seed=d.seed,
        institution_count=d.institution_count,
        inspector_count=d.inspector_count,
        candidate_institutions=len(d.candidate_institution_ids),
        candidate_inspectors=len(d.candidate_inspector_ids),
        institution_ids=list(d.institution_ids),
        inspector_ids=list(d.inspector_ids),
        created_at=d.created_at,
        published_at=d.published_at,
    )


async def create_draw(session: AsyncSession, principal: Principal, body: DrawCreate) -> Draw:
    if not is_known_in_city(body.region_code):
        raise Unprocessable("not a known region of this city", field="body.region_code")
    if not sees_region(principal, body.region_code):
        raise Forbidden("a reviewer draws only in its own region")
    region = body.region_code
    institution_ids = list(
        await session.scalars(
            select(Institution.id)
            .join(Filing, Filing.institution_id == Institution.id)
            .where(Filing.state == State.approved.value, Institution.region_code.startswith(region))
            .order_by(Institution.id)
        )
    )
    # Inspectors of the region itself or of a region containing it (a county's for a township).
    inspector_ids = list(
        await session.scalars(
            select(Inspector.id)
            .where(
                or_(
                    Inspector.region_code.startswith(region),
                    literal(region).startswith(Inspector.region_code),
                )
            )
            .order_by(Inspector.id)
        )
    )
    if not institution_ids:
        raise Unprocessable("no filed institution in this region to draw", field="body.region_code")
    if not inspector_ids:
        raise Unprocessable("no inspector in this region to draw", field="body.region_code")
    seed = body.seed if body.seed is not None else secrets.randbelow(draw.MAX_SEED + 1)
    result = draw.draw(
        seed, institution_ids, inspector_ids, body.institution_count, body.inspector_count
    )
    row = Draw(
        region_code=region,
        seed=seed,
        institution_count=body.institution_count,
        inspector_count=body.inspector_count,
        candidate_institution_ids=institution_ids,
        candidate_inspector_ids=inspector_ids,
        institution_ids=list(result.institution_ids),
        inspector_ids=list(result.inspector_ids),
        created_by=principal.client_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def visible_draw(
    session: AsyncSession, principal: Principal, draw_id: int, *, lock: bool = False
) -> Draw:
    row = await session.get(Draw, draw_id, with_for_update=lock)
    if row is None or not sees_region(principal, row.region_code):
        raise NotFound(f"draw {draw_id} not found")
    return row


def check_draw(row: Draw) -> DrawCheck:
    """Re-runs the draw from its recorded seed and candidates."""
    again = draw.draw(
        row.seed,
        row.candidate_institution_ids,
        row.candidate_inspector_ids,
        row.institution_count,
        row.inspector_count,
    )
    return DrawCheck(
        draw_id=row.id,
        seed=row.seed,
        reproduced=list(again.institution_ids) == list(row.institution_ids)
        and list(again.inspector_ids) == list(row.inspector_ids),
        institution_ids=list(again.institution_ids),
        inspector_ids=list(again.inspector_ids),
    )


async def publish_draw(session: AsyncSession, principal: Principal, draw_id: int) -> Draw:
    row = await visible_draw(session, principal, draw_id, lock=True)
    if row.published_at is not None:
        raise Conflict("the draw is already published")
    row.published_at = datetime.now(UTC)
    await session.flush()
    return row


async def public_draws(
    session: AsyncSession, after: int | None, limit: int, region_code: str | None
) -> list[PublicDraw]:
    query = select(Draw).where(Draw.published_at.is_not(None)).order_by(Draw.id).limit(limit)
    if after is not None:
        query = query.where(Draw.id > after)
    if region_code:
        query = query.where(Draw.region_code.startswith(region_code))
    draws = (await session.scalars(query)).all()
    inst_ids = {i for d in draws for i in d.institution_ids}
    insp_ids = {i for d in draws for i in d.inspector_ids}
    names: dict[int, str] = {}
    inspectors: dict[int, str] = {}
    if inst_ids:
        by_institution = select(Institution.id, Institution.name).where(
            Institution.id.in_(inst_ids)
        )
        names = {i: n for i, n in await session.execute(by_institution)}
    if insp_ids:
        query2 = select(Inspector.id, Inspector.name).where(Inspector.id.in_(insp_ids))
        inspectors = {i: n for i, n in await session.execute(query2)}
    return [
        PublicDraw(
            id=d.id,
            region_code=d.region_code,
            seed=d.seed,
            institutions=[
                PublicDrawInstitution(id=i, name=names.get(i, "")) for i in d.institution_ids
            ],
            inspectors=[inspectors.get(i, "") for i in d.inspector_ids],
            published_at=d.published_at or d.created_at,
        )
        for d in draws
    ]


# --- public disclosure -----------------------------------------------------------------------


def _distance_m(lat: float, lon: float) -> ColumnElement[float]:
    """Haversine distance in metres from (lat, lon) to the institution."""
    rlat = func.radians(Institution.lat)
    dlat = func.radians(Institution.lat - lat) / 2
    dlon = func.radians(Institution.lon - lon) / 2
    a = func.power(func.sin(dlat), 2) + func.cos(func.radians(literal(lat, Float))) * func.cos(
        rlat
    ) * func.power(func.sin(dlon), 2)
    return (2 * EARTH_RADIUS_M * func.asin(func.sqrt(func.least(a, 1.0)))).label("distance_m")


async def public_search(
    session: AsyncSession,
    *,
    lat: float,
    lon: float,
    age_group: AgeGroup | None,
    service_mode: ServiceMode | None,
    vacancy: bool,
    max_fee: Decimal | None,
    radius_m: int | None,
    after: Any,
    limit: int,
) -> tuple[list[PublicInstitution], list[tuple[float, int]]]:
    distance = _distance_m(lat, lon)
    query = (
        select(Institution, Filing.filing_number, distance)
        .join(Filing, Filing.institution_id == Institution.id)
        .where(
            Filing.state == State.approved.value,
            Institution.lat.is_not(None),
            Institution.lon.is_not(None),
        )
    )
    if service_mode is not None:
        query = query.where(literal(service_mode.value) == func.any(Institution.service_modes))
    places = [Capacity.institution_id == Institution.id, Capacity.capacity > 0]
    if age_group is not None:
        places.append(Capacity.age_group == age_group.value)
    if vacancy:
        places.append(Capacity.enrolled < Capacity.capacity)
    if age_group is not None or vacancy:
        query = query.where(exists().where(and_(*places)))
    if max_fee is not None:
        fee_cond = [Fee.institution_id == Institution.id, Fee.amount <= max_fee]
        # Against the chosen mode's fee, else against monthly fees (an hourly rate is not
        # comparable with a monthly budget).
        if service_mode is not None:
            fee_cond.append(Fee.service_mode == service_mode.value)
        else:
            fee_cond.append(Fee.period == "month")
        query = query.where(exists().where(and_(*fee_cond)))
    if radius_m is not None:
        # A box around the circle first, so the index narrows the rows the distance is run on.
        dlat = math.degrees(radius_m / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        query = query.where(
            Institution.lat.between(lat - dlat, lat + dlat),
            Institution.lon.between(lon - dlon, lon + dlon),
            distance <= radius_m,
        )
    if after is not None:
        query = query.where(
            tuple_(distance, Institution.id) > tuple_(float(after[0]), int(after[1]))
        )
    rows = (await session.execute(query.order_by(distance, Institution.id).limit(limit))).all()
    ids = [inst.id for inst, _, _ in rows]
    capacities: dict[int, list[Capacity]] = defaultdict(list)
    fees: dict[int, list[Fee]] = defaultdict(list)
    latest: dict[int, Inspection] = {}
    if ids:
        for c in await session.scalars(
            select(Capacity).where(Capacity.institution_id.in_(ids)).order_by(Capacity.age_group)
        ):
            capacities[c.institution_id].append(c)
        for f in await session.scalars(
            select(Fee).where(Fee.institution_id.in_(ids)).order_by(Fee.service_mode)
        ):
            fees[f.institution_id].append(f)
        for i in await session.scalars(
            select(Inspection)
            .where(Inspection.institution_id.in_(ids))
            .ext(distinct_on(Inspection.institution_id))
            .order_by(
                Inspection.institution_id, Inspection.inspected_on.desc(), Inspection.id.desc()
            )
        ):
            latest[i.institution_id] = i
    items = []
    keys = []
    for inst, filing_number, dist in rows:
        last = latest.get(inst.id)
        items.append(
            PublicInstitution(
                id=inst.id,
                name=inst.name,
                form=Form(inst.form),
                nature=Nature(inst.nature),
                region_code=inst.region_code,
                address=inst.address,
                lat=inst.lat or 0.0,
                lon=inst.lon or 0.0,
                distance_m=round(dist),
                filing_number=filing_number,
                demonstration=inst.demonstration,
                service_modes=[ServiceMode(m) for m in inst.service_modes],
                fees=[fee_out(f) for f in fees[inst.id]],
                capacity=[capacity_out(c) for c in capacities[inst.id]],
                latest_inspection=None
                if last is None
                else LatestInspection(
                    inspected_on=last.inspected_on,
                    level=InspectionLevel(last.level),
                    result=Result(last.result),
                    max_severity=_max_severity(last.findings),
                    rectified=None
                    if last.rectification_deadline is None
                    else last.rectified_on is not None,
                ),
            )
        )
        keys.append((float(dist), inst.id))
    return items, keys


# --- statistics ------------------------------------------------------------------------------

WELL_RUN_RATINGS = frozenset({Rating.A, Rating.B})
DEFINITIONS = {
    "well_run": "approved filing, credit rating A or B, no open ban flag "
    "(手续齐全、设施完备、管理规范)",
    "demonstration": "approved filing marked as a demonstration institution (示范性托育机构)",
}


async def county_stats(session: AsyncSession) -> StatsOut:
    rows = (
        await session.execute(
            select(Institution, Filing.state).join(Filing, Filing.institution_id == Institution.id)
        )
    ).all()
    approved_ids = [inst.id for inst, state in rows if state == State.approved.value]
    facts = await _facts_by_institution(session, approved_ids)
    flagged = set(
        await session.scalars(
            select(BanFlag.institution_id).where(BanFlag.resolved_at.is_(None)).distinct()
        )
    )
    places: dict[int, tuple[int, int]] = {
        iid: (int(cap or 0), int(enr or 0))
        for iid, cap, enr in await session.execute(
            select(
                Capacity.institution_id, func.sum(Capacity.capacity), func.sum(Capacity.enrolled)
            ).group_by(Capacity.institution_id)
        )
    }
    targets = (await session.scalars(select(Target).order_by(Target.year, Target.metric))).all()
    on = today()
    per_county: dict[str, dict[str, int]] = {c.code: defaultdict(int) for c in counties()}
    for inst, state in rows:
        county = per_county.get(inst.region_code[:6])
        if county is None or state == State.deregistered.value:
            continue
        county["institutions"] += 1
        if state != State.approved.value:
            continue
        county["approved"] += 1
        cap, enr = places.get(inst.id, (0, 0))
        county["places"] += cap
        county["enrolled"] += enr
        rating = credit.evaluate(facts.get(inst.id, []), on).rating
        if rating in WELL_RUN_RATINGS and inst.id not in flagged:
            county["well_run"] += 1
        if inst.demonstration:
            county["demonstration"] += 1

    def progress(scope: str, actual: dict[str, int]) -> list[TargetProgress]:
        return [
            TargetProgress(
                year=t.year,
                metric=t.metric,
                minimum=t.minimum,
                actual=actual[t.metric],
                met=actual[t.metric] >= t.minimum,
            )
            for t in targets
            if t.scope == scope
        ]

    county_out = [
        CountyStats(
            county_code=c.code,
            name=c.name,
            institutions=per_county[c.code]["institutions"],
            approved=per_county[c.code]["approved"],
            places=per_county[c.code]["places"],
            enrolled=per_county[c.code]["enrolled"],
            well_run=per_county[c.code]["well_run"],
            demonstration=per_county[c.code]["demonstration"],
            targets=progress("county", per_county[c.code]),
        )
        for c in counties()
    ]
    city: dict[str, int] = defaultdict(int)
    for c in per_county.values():
        for key, value in c.items():
            city[key] += value
    return StatsOut(
        definitions=DEFINITIONS,
        city=CityStats(
            city_code=CITY_CODE,
            institutions=city["institutions"],
            approved=city["approved"],
            well_run=city["well_run"],
            demonstration=city["demonstration"],
            targets=progress("city", city),
        ),
        counties=county_out,
    )


def credit_lists(ratings: list[CreditOut], which: str) -> list[CreditOut]:
    return [r for r in ratings if (r.red_list if which == "red" else r.black_list)]
