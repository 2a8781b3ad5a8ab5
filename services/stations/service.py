"""Rules of the stations service: the network, the 15-minute circle, institutions, pharmacy
inventory and video-service requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.stations.auth import owns_pharmacy, owns_station
from services.stations.catalog import Scheme, scheme_counts
from services.stations.clients.claims import DrugCatalog
from services.stations.domain import geo, inventory
from services.stations.domain.codes import InstitutionKind, is_offsite, problems_with
from services.stations.domain.video import (
    IllegalTransition,
    VideoAction,
    VideoStatus,
    next_status,
)
from services.stations.models import (
    HandledItem,
    Institution,
    Station,
    StationItem,
    VideoRequest,
)
from services.stations.repository import (
    CatalogRepository,
    InstitutionRepository,
    InventoryWrite,
    StationRepository,
    upsert_inventory,
)
from services.stations.schemas import (
    FlaggedRow,
    HandledCount,
    HandledItemOut,
    InventoryRowIn,
    InventoryUpsertOut,
    MedicalInstitutionCreate,
    MedicalInstitutionOut,
    MedicalInstitutionUpdate,
    NearbyPharmacies,
    NearbyPharmacy,
    NearbyStation,
    NearbyStations,
    ServiceCoverageOut,
    StationCreate,
    StationOut,
    StationTypeOut,
    UncoveredVillage,
    VideoRequestCreate,
    VideoRequestOut,
)
from services.stations.station_cache import StationCache
from shared.auth import ClientKind, Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.regions import is_known_in_city

# --- catalog ---------------------------------------------------------------------------------


async def station_types(session: AsyncSession) -> list[StationTypeOut]:
    repo = CatalogRepository(session)
    schemes = {item.code: Scheme(item.scheme) for item in await repo.items()}
    out = []
    for kind, items in await repo.station_types():
        counts = scheme_counts(items, schemes)
        out.append(
            StationTypeOut(
                code=kind.code,
                name=kind.name,
                level=kind.level,
                items=items,
                employee_items=counts[Scheme.employee],
                resident_items=counts[Scheme.resident],
                assumed=kind.assumed,
            )
        )
    return out


# --- stations --------------------------------------------------------------------------------


def station_out(station: Station, items: list[str]) -> StationOut:
    return StationOut(
        station_id=station.id,
        name=station.name,
        station_type=station.station_type,
        level=station.level,
        region_code=station.region_code,
        lat=station.lat,
        lon=station.lon,
        address=station.address,
        opening_hours=station.opening_hours,
        phone=station.phone,
        institution_code=station.institution_code,
        items=items,
    )


async def get_station(session: AsyncSession, station_id: int) -> StationOut:
    repo = StationRepository(session)
    station = await repo.get(station_id)
    if station is None:
        raise NotFound(f"station {station_id} not found")
    return station_out(station, await repo.items_of(station_id))


async def create_station(session: AsyncSession, data: StationCreate) -> StationOut:
    catalog = CatalogRepository(session)
    station_type = await catalog.station_type(data.station_type)
    if station_type is None:
        raise Unprocessable(f"no station type {data.station_type!r}", field="body.station_type")
    items = sorted(set(data.items)) if data.items is not None else None
    if items is None:
        items = await catalog.duties(station_type.code)
    else:
        unknown = sorted(set(items) - await catalog.existing_items(items))
        if unknown:
            raise Unprocessable(f"unknown service items: {', '.join(unknown)}", field="body.items")
    station = Station(
        name=data.name,
        station_type=station_type.code,
        level=station_type.level,
        region_code=data.region_code,
        lat=data.lat,
        lon=data.lon,
        address=data.address,
        opening_hours=data.opening_hours,
        phone=data.phone,
        institution_code=data.institution_code,
    )
    session.add(station)
    await session.flush()
    if items:
        await session.execute(
            insert(StationItem), [{"station_id": station.id, "item_code": c} for c in items]
        )
    return station_out(station, items)


async def _require_item(session: AsyncSession, item: str | None) -> None:
    if item is not None and not await CatalogRepository(session).item_exists(item):
        raise Unprocessable(f"no service item {item!r}", field="query.item")


async def nearby_stations(
    cache: StationCache,
    model: geo.TravelModel,
    *,
    lat: float,
    lon: float,
    item: str | None,
    mode: geo.TravelMode,
    minutes: float,
    limit: int,
) -> NearbyStations:
    """The stations handling ``item`` within ``minutes`` by ``mode``, nearest first.

    The process's grid index answers the bounding box of the reachable circle; the exact
    distance and travel time are computed on the stations in it.
    """
    index = await cache.current()
    if item is not None and item not in cache.item_codes:
        raise Unprocessable(f"no service item {item!r}", field="query.item")
    reach = model.reach_m(mode, minutes)
    candidates = index.in_box(geo.bounding_box(lat, lon, reach), item)
    ranked = geo.rank_nearest(
        (lat, lon), candidates, mode=mode, minutes=minutes, model=model, limit=limit
    )
    return NearbyStations(
        item=item,
        mode=mode,
        minutes=minutes,
        reach_m=round(reach, geo.DISTANCE_DECIMALS),
        items=[
            NearbyStation(
                station_id=int(s.id),
                name=s.name,
                station_type=s.station_type,
                level=s.level,
                region_code=s.region_code,
                lat=s.lat,
                lon=s.lon,
                opening_hours=s.opening_hours,
                phone=s.phone,
                distance_m=r.distance_m,
                travel_minutes=r.travel_minutes or 0.0,
            )
            for s, r in ranked
        ],
    )


async def coverage(
    session: AsyncSession,
    model: geo.TravelModel,
    *,
    mode: geo.TravelMode,
    minutes: float,
    item: str | None,
    limit: int,
) -> ServiceCoverageOut:
    """The 15-minute service circle as a figure: villages with no station in reach."""
    await _require_item(session, item)
    villages = await CatalogRepository(session).villages()
    # Only stations within reach of some village matter: those in the villages' extent
    # widened by the reach, which the spatial index answers.
    stations: list[tuple[float, float]] = []
    if villages:
        area = geo.extent([(v.lat, v.lon) for v in villages], model.reach_m(mode, minutes))
        stations = await StationRepository(session).positions(item, area)
    result = geo.coverage([v.place() for v in villages], stations, mode, minutes, model)
    by_code = {v.code: v for v in villages}
    uncovered = sorted(result.uncovered, key=lambda p: (-p.population, p.code))
    return ServiceCoverageOut(
        item=item,
        mode=mode,
        minutes=minutes,
        villages=len(villages),
        villages_uncovered=len(result.uncovered),
        population=result.population_total,
        population_covered=result.population_covered,
        covered_share=round(result.covered_share, 5),
        uncovered=[
            UncoveredVillage(
                code=p.code,
                name=by_code[p.code].name,
                township_code=by_code[p.code].parent_code,
                population=p.population,
            )
            for p in uncovered[:limit]
        ],
    )


# --- institutions ----------------------------------------------------------------------------


def institution_out(institution: Institution) -> MedicalInstitutionOut:
    return MedicalInstitutionOut(
        code=institution.code,
        name=institution.name,
        kind=InstitutionKind(institution.kind),
        tier=institution.tier,
        region_code=institution.region_code,
        lat=institution.lat,
        lon=institution.lon,
        offsite=is_offsite(institution.region_code),
        designated=institution.designated,
    )


async def create_institution(
    session: AsyncSession, data: MedicalInstitutionCreate
) -> MedicalInstitutionOut:
    errors = [
        {"field": f"body.{field}", "message": message}
        for field, message in problems_with(data.code, data.kind, data.tier, data.region_code)
    ]
    if not is_offsite(data.region_code) and not is_known_in_city(data.region_code):
        errors.append({"field": "body.region_code", "message": "no such region in the city"})
    if errors:
        raise Unprocessable("; ".join(e["message"] for e in errors), errors=errors)
    statement = (
        insert(Institution)
        .values(
            code=data.code,
            name=data.name,
            kind=data.kind.value,
            tier=data.tier,
            region_code=data.region_code,
            lat=data.lat,
            lon=data.lon,
            designated=data.designated,
        )
        .on_conflict_do_nothing(index_elements=[Institution.code])
        .returning(Institution)
    )
    institution = await session.scalar(statement)
    if institution is None:
        raise Conflict(f"institution {data.code} already exists", extra={"field": "code"})
    return institution_out(institution)


async def get_institution(session: AsyncSession, code: str) -> Institution:
    institution = await InstitutionRepository(session).get(code)
    if institution is None:
        raise NotFound(f"institution {code} not found")
    return institution


async def update_institution(
    session: AsyncSession, code: str, data: MedicalInstitutionUpdate
) -> MedicalInstitutionOut:
    institution = await get_institution(session, code)
    if data.tier is not None and institution.kind != InstitutionKind.hospital:
        raise Unprocessable("a pharmacy has no tier", field="body.tier")
    for name in ("name", "tier", "designated"):
        value = getattr(data, name)
        if value is not None:
            setattr(institution, name, value)
    institution.updated_at = datetime.now(UTC)
    await session.flush()
    return institution_out(institution)


# --- pharmacy inventory ----------------------------------------------------------------------


async def own_pharmacy(session: AsyncSession, principal: Principal, code: str) -> Institution:
    """The pharmacy, if this client is it (or admin): another pharmacy's inventory is 403."""
    if not owns_pharmacy(principal, code):
        raise Forbidden("a pharmacy reads and writes only its own inventory")
    institution = await InstitutionRepository(session).get(code)
    if institution is None or institution.kind != InstitutionKind.pharmacy:
        raise NotFound(f"pharmacy {code} not found")
    return institution


async def upsert_pharmacy_inventory(
    session: AsyncSession,
    catalog: DrugCatalog,
    principal: Principal,
    code: str,
    rows: Sequence[InventoryRowIn],
) -> InventoryUpsertOut:
    """All or nothing: any bad row (unknown drug, a drug twice) → 422 naming every bad row,
    and nothing is written. Shape errors (negative stock, malformed price) are caught earlier
    by the body's validation, also as a 422 naming each row."""
    await own_pharmacy(session, principal, code)
    codes = [row.drug_code for row in rows]
    bad = inventory.duplicate_rows(codes)
    drugs = await catalog.get_drugs(codes)
    bad += inventory.unknown_drug_rows(codes, drugs.keys())
    if bad:
        bad.sort(key=lambda e: e.row)
        raise Unprocessable(
            f"{len({e.row for e in bad})} of {len(rows)} rows rejected; nothing was applied",
            errors=[{"field": e.path, "message": e.message} for e in bad],
            extra={"applied": 0},
        )
    writes = [
        InventoryWrite(row.drug_code, row.price, row.stock, drugs[row.drug_code].payment_standard)
        for row in rows
    ]
    created, updated = await upsert_inventory(session, code, writes)
    flagged = [
        FlaggedRow(
            row=index,
            drug_code=w.drug_code,
            price=w.price,
            payment_standard=w.payment_standard,
        )
        for index, w in enumerate(writes)
        if w.payment_standard is not None and inventory.above_standard(w.price, w.payment_standard)
    ]
    return InventoryUpsertOut(
        pharmacy_code=code, applied=len(writes), created=created, updated=updated, flagged=flagged
    )


async def nearby_pharmacies(
    session: AsyncSession,
    *,
    drug_code: str,
    lat: float,
    lon: float,
    in_stock: bool,
    radius_m: float,
    limit: int,
) -> NearbyPharmacies:
    box = geo.bounding_box(lat, lon, radius_m)
    candidates = await InstitutionRepository(session).stocking(drug_code, box, in_stock)
    ranked = geo.rank_nearest((lat, lon), candidates, max_distance_m=radius_m, limit=limit)
    return NearbyPharmacies(
        drug_code=drug_code,
        radius_m=radius_m,
        items=[
            NearbyPharmacy(
                code=str(p.id),
                name=p.name,
                region_code=p.region_code,
                lat=p.lat,
                lon=p.lon,
                distance_m=r.distance_m,
                drug_code=drug_code,
                price=p.price,
                stock=p.stock,
                payment_standard=p.payment_standard,
                above_payment_standard=inventory.above_standard(p.price, p.payment_standard),
            )
            for p, r in ranked
        ],
    )


# --- video service ---------------------------------------------------------------------------


def video_out(request: VideoRequest) -> VideoRequestOut:
    return VideoRequestOut(
        request_id=request.id,
        person_id=request.person_id,
        station_id=request.station_id,
        item_code=request.item_code,
        status=VideoStatus(request.status),
        note=request.note,
        created_at=request.created_at,
        accepted_at=request.accepted_at,
        completed_at=request.completed_at,
    )


async def request_video_service(
    session: AsyncSession, principal: Principal, station_id: int, data: VideoRequestCreate
) -> VideoRequestOut:
    assert principal.person_id is not None
    repo = StationRepository(session)
    if await repo.get(station_id) is None:
        raise NotFound(f"station {station_id} not found")
    if not await repo.handles(station_id, data.item_code):
        raise Unprocessable(
            f"station {station_id} does not handle item {data.item_code}", field="body.item_code"
        )
    request = VideoRequest(
        person_id=principal.person_id,
        station_id=station_id,
        item_code=data.item_code,
        status=VideoStatus.queued.value,
        note=data.note,
    )
    session.add(request)
    await session.flush()
    await session.refresh(request)
    return video_out(request)


def _visible(principal: Principal, request: VideoRequest) -> bool:
    if principal.kind is ClientKind.app:
        return principal.person_id == request.person_id
    return owns_station(principal, request.station_id)


async def get_video_request(
    session: AsyncSession, principal: Principal, request_id: int, *, for_update: bool = False
) -> VideoRequest:
    """The request, if the caller is its person, its station or admin; anyone else: 404."""
    query = select(VideoRequest).where(VideoRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    request = await session.scalar(query)
    if request is None or not _visible(principal, request):
        raise NotFound(f"video request {request_id} not found")
    return request


async def station_queue(
    session: AsyncSession,
    principal: Principal,
    station_id: int,
    status: VideoStatus | None,
    after: int | None,
    limit: int,
) -> list[VideoRequest]:
    if not owns_station(principal, station_id):
        raise Forbidden("a station reads only its own queue")
    query = (
        select(VideoRequest)
        .where(VideoRequest.station_id == station_id)
        .order_by(VideoRequest.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(VideoRequest.status == status.value)
    if after is not None:
        query = query.where(VideoRequest.id > after)
    return list(await session.scalars(query))


async def person_requests(
    session: AsyncSession, person_id: int, after: int | None, limit: int
) -> list[VideoRequest]:
    query = (
        select(VideoRequest)
        .where(VideoRequest.person_id == person_id)
        .order_by(VideoRequest.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(VideoRequest.id > after)
    return list(await session.scalars(query))


async def act_on_video_request(
    session: AsyncSession, principal: Principal, request_id: int, action: VideoAction
) -> VideoRequestOut:
    """Accept and complete are the station's; cancel is the person's or the station's.
    Completing records the item as handled by the station, by video."""
    request = await get_video_request(session, principal, request_id, for_update=True)
    if action is not VideoAction.cancel and principal.kind is ClientKind.app:
        raise Forbidden("only the station accepts and completes a request")
    try:
        status = next_status(VideoStatus(request.status), action)
    except IllegalTransition as exc:
        raise Conflict(str(exc), extra={"status": request.status}) from None
    now = datetime.now(UTC)
    request.status = status.value
    if status is VideoStatus.accepted:
        request.accepted_at = now
        request.handled_by = principal.client_id
    elif status is VideoStatus.completed:
        request.completed_at = now
        session.add(
            HandledItem(
                station_id=request.station_id,
                item_code=request.item_code,
                channel="video",
                person_id=request.person_id,
                video_request_id=request.id,
                handled_at=now,
            )
        )
    await session.flush()
    return video_out(request)


async def record_handled(
    session: AsyncSession,
    principal: Principal,
    station_id: int,
    item_code: str,
    person_id: int | None,
) -> HandledItemOut:
    """Business a station handled at its counter (or for a person, as grid workers do)."""
    if not owns_station(principal, station_id):
        raise Forbidden("a station records business only against itself")
    repo = StationRepository(session)
    if await repo.get(station_id) is None:
        raise NotFound(f"station {station_id} not found")
    if not await repo.handles(station_id, item_code):
        raise Unprocessable(
            f"station {station_id} does not handle item {item_code}", field="body.item_code"
        )
    record = HandledItem(
        station_id=station_id, item_code=item_code, channel="counter", person_id=person_id
    )
    session.add(record)
    await session.flush()
    await session.refresh(record)
    return HandledItemOut(
        handled_id=record.id,
        station_id=record.station_id,
        item_code=record.item_code,
        channel=record.channel,
        person_id=record.person_id,
        handled_at=record.handled_at,
    )


MONTH_TIME_ZONE = "Asia/Shanghai"
"""Months of the handled-items record are Beijing-time months."""


async def handled_per_month(
    session: AsyncSession,
    principal: Principal,
    station_id: int,
    since: datetime | None,
    until: datetime | None,
) -> list[HandledCount]:
    if not owns_station(principal, station_id):
        raise Forbidden("a station reads only its own record")
    month = func.to_char(func.timezone(MONTH_TIME_ZONE, HandledItem.handled_at), "YYYY-MM")
    query = (
        select(month, HandledItem.item_code, HandledItem.channel, func.count())
        .where(HandledItem.station_id == station_id)
        .group_by(month, HandledItem.item_code, HandledItem.channel)
        .order_by(month, HandledItem.item_code, HandledItem.channel)
    )
    if since is not None:
        query = query.where(HandledItem.handled_at >= since)
    if until is not None:
        query = query.where(HandledItem.handled_at < until)
    return [
        HandledCount(month=m, item_code=code, channel=channel, count=count)
        for m, code, channel, count in await session.execute(query)
    ]
