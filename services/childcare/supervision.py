"""Inspections, double-random draws, credit ratings, public disclosure and statistics."""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    func,
    literal,
    or_,
    select,
    text,
)
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
    FeeOut,
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
from services.childcare.service import places_out, today, visible_institution
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


# Haversine in metres from (:lat, :lon), computed in SQL so the ordering and the keyset cursor
# are the database's; the box conditions let the (lat, lon) index narrow the rows first.
_DISTANCE = (
    "2 * CAST(:radius AS float8) * asin(sqrt(least("
    "power(sin(radians(i.lat - CAST(:lat AS float8)) / 2), 2)"
    " + cos(radians(CAST(:lat AS float8))) * cos(radians(i.lat))"
    " * power(sin(radians(i.lon - CAST(:lon AS float8)) / 2), 2), 1.0)))"
)

# One statement and one round trip: the page of institutions (nearest first), then for those
# rows only, their fees, places and latest inspection as JSON. The ORM version (four queries,
# an object per row) cost ~15 ms of Python per search here.
_PUBLIC_SEARCH = """
WITH page AS (
  SELECT i.id, f.filing_number, {distance} AS distance_m
    FROM institutions i JOIN filings f ON f.institution_id = i.id
   WHERE f.state = 'approved' AND i.lat IS NOT NULL AND i.lon IS NOT NULL {filters}
   ORDER BY distance_m, i.id
   LIMIT :limit
)
SELECT i.id, i.name, i.form, i.nature, i.region_code, i.address, i.lat, i.lon, p.distance_m,
  p.filing_number, i.demonstration, i.service_modes,
  (SELECT coalesce(json_agg(json_build_array(fe.service_mode, fe.amount::text, fe.period)
                            ORDER BY fe.service_mode), '[]')
     FROM fees fe WHERE fe.institution_id = i.id)::text AS fees,
  (SELECT coalesce(json_agg(json_build_array(c.age_group, c.capacity, c.enrolled)
                            ORDER BY c.age_group), '[]')
     FROM capacities c WHERE c.institution_id = i.id)::text AS capacity,
  (SELECT json_build_array(x.inspected_on, x.level, x.result, x.findings,
                           x.rectification_deadline IS NOT NULL, x.rectified_on IS NOT NULL)
     FROM inspections x WHERE x.institution_id = i.id
    ORDER BY x.inspected_on DESC, x.id DESC LIMIT 1)::text AS latest
FROM page p JOIN institutions i ON i.id = p.id
ORDER BY p.distance_m, p.id
"""


def _public_item(row: Any) -> PublicInstitution:
    (id_, name, form, nature, region, address, lat, lon, dist, filing_number, demonstration,
     modes, fees, capacity, latest) = row  # fmt: skip
    last = orjson.loads(latest) if latest is not None else None
    return PublicInstitution(
        id=id_,
        name=name,
        form=Form(form),
        nature=Nature(nature),
        region_code=region,
        address=address,
        lat=lat,
        lon=lon,
        distance_m=round(dist),
        filing_number=filing_number,
        demonstration=demonstration,
        service_modes=[ServiceMode(m) for m in modes],
        fees=[
            FeeOut(service_mode=ServiceMode(mode), amount=Decimal(amount), period=period)
            for mode, amount, period in orjson.loads(fees)
        ],
        capacity=[
            places_out(group, places, enrolled)
            for group, places, enrolled in orjson.loads(capacity)
        ],
        latest_inspection=None
        if last is None
        else LatestInspection(
            inspected_on=date.fromisoformat(last[0]),
            level=InspectionLevel(last[1]),
            result=Result(last[2]),
            max_severity=_max_severity(last[3]),
            rectified=last[5] if last[4] else None,
        ),
    )


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
    """Approved institutions nearest first, with the filters parents use; keyset-paginated on
    (distance, id). The filters are fixed SQL fragments; every value is a bound parameter."""
    params: dict[str, Any] = {"lat": lat, "lon": lon, "radius": EARTH_RADIUS_M, "limit": limit}
    filters: list[str] = []
    if service_mode is not None:
        filters.append(":mode = ANY(i.service_modes)")
        params["mode"] = service_mode.value
    if age_group is not None or vacancy:
        places = ["c.institution_id = i.id", "c.capacity > 0"]
        if age_group is not None:
            places.append("c.age_group = :age_group")
            params["age_group"] = age_group.value
        if vacancy:
            places.append("c.enrolled < c.capacity")
        filters.append(f"EXISTS (SELECT 1 FROM capacities c WHERE {' AND '.join(places)})")
    if max_fee is not None:
        # Against the chosen mode's fee, else against monthly fees (an hourly rate is not
        # comparable with a monthly budget).
        fee = "fe.service_mode = :mode" if service_mode is not None else "fe.period = 'month'"
        filters.append(
            "EXISTS (SELECT 1 FROM fees fe WHERE fe.institution_id = i.id"
            f" AND fe.amount <= :max_fee AND {fee})"
        )
        params["max_fee"] = max_fee
    if radius_m is not None:
        dlat = math.degrees(radius_m / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        filters.append(
            "i.lat BETWEEN :lat_min AND :lat_max AND i.lon BETWEEN :lon_min AND :lon_max"
            f" AND {_DISTANCE} <= CAST(:radius_m AS float8)"
        )
        params.update(
            lat_min=lat - dlat,
            lat_max=lat + dlat,
            lon_min=lon - dlon,
            lon_max=lon + dlon,
            radius_m=radius_m,
        )
    if after is not None:
        filters.append(
            f"({_DISTANCE}, i.id) > (CAST(:after_distance AS float8), CAST(:after_id AS bigint))"
        )
        params.update(after_distance=float(after[0]), after_id=int(after[1]))
    sql = _PUBLIC_SEARCH.format(distance=_DISTANCE, filters="".join(f" AND {f}" for f in filters))
    rows = (await session.execute(text(sql), params)).all()
    return [_public_item(row) for row in rows], [(float(row[8]), row[0]) for row in rows]


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
