"""Routes of the stations API: thin, the rules live in :mod:`service`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Path, Query, Request

from services.stations import service
from services.stations.auth import (
    PersonApp,
    PharmacyClient,
    StationClient,
    StationsAdmin,
    VideoParty,
)
from services.stations.clients.claims import DrugCatalog
from services.stations.domain.codes import INSTITUTION_CODE_PATTERN, InstitutionKind
from services.stations.domain.geo import TravelMode, TravelModel
from services.stations.domain.inventory import above_standard
from services.stations.domain.video import VideoAction, VideoStatus
from services.stations.repository import (
    CatalogRepository,
    InstitutionRepository,
    StationRepository,
    inventory_page,
)
from services.stations.schemas import (
    DrugCode,
    HandledCount,
    HandledItemCreate,
    HandledItemOut,
    InventoryRowIn,
    InventoryRowOut,
    InventoryUpsertOut,
    Latitude,
    Longitude,
    MedicalInstitutionCreate,
    MedicalInstitutionOut,
    MedicalInstitutionUpdate,
    NearbyPharmacies,
    NearbyStations,
    RegionOut,
    ServiceCoverageOut,
    ServiceItemOut,
    StationCreate,
    StationOut,
    StationTypeOut,
    VideoRequestCreate,
    VideoRequestOut,
)
from services.stations.station_cache import StationCache
from shared.db import DbSession, ReadSession
from shared.errors import NotFound, problems
from shared.pagination import Page, PageByCode, PageById
from shared.schemas import PathId

router = APIRouter(prefix="/stations/v1")

MAX_MINUTES = 120
"""The longest travel time asked about; bounds the box a search reads."""
MAX_INVENTORY_ROWS = 10_000
MAX_PHARMACY_RADIUS_M = 200_000

Code = Annotated[str, Path(pattern=INSTITUTION_CODE_PATTERN, examples=["P37160200007"])]
Minutes = Annotated[float, Query(gt=0, le=MAX_MINUTES, description="Travel-time limit")]


def _travel_model(request: Request) -> TravelModel:
    model: TravelModel = request.app.state.travel_model
    return model


def _station_cache(request: Request) -> StationCache:
    cache: StationCache = request.app.state.station_cache
    return cache


def _drug_catalog(request: Request) -> DrugCatalog:
    catalog: DrugCatalog = request.app.state.drug_catalog
    return catalog


# --- catalog and regions ---------------------------------------------------------------------


@router.get(
    "/service-items",
    operation_id="service_items_list",
    tags=["service network"],
    summary="The catalog of service items (public)",
    response_model=list[ServiceItemOut],
)
async def list_service_items(session: ReadSession) -> list[ServiceItemOut]:
    return [ServiceItemOut.model_validate(row) for row in await CatalogRepository(session).items()]


@router.get(
    "/station-types",
    operation_id="station_types_list",
    tags=["service network"],
    summary="Station types and the items each handles (public)",
    response_model=list[StationTypeOut],
)
async def list_station_types(session: ReadSession) -> list[StationTypeOut]:
    return await service.station_types(session)


@router.get(
    "/regions",
    operation_id="regions_list",
    tags=["service network"],
    summary="Counties, townships and villages, by code (public)",
    response_model=Page[RegionOut],
    responses=problems(422),
)
async def list_regions(
    session: ReadSession,
    page: PageByCode,
    parent: Annotated[str | None, Query(pattern=r"^\d{6,9}$")] = None,
    level: Annotated[str | None, Query(pattern=r"^(county|township|village)$")] = None,
) -> Page[RegionOut]:
    rows = await CatalogRepository(session).regions(parent, level, page.after, page.limit + 1)
    rows, cursor = page.page(rows, key=lambda r: r.code)
    return Page(items=[RegionOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/regions/{code}",
    operation_id="regions_get",
    tags=["service network"],
    summary="One region (public)",
    response_model=RegionOut,
    responses=problems(404, 422),
)
async def get_region(
    session: ReadSession, code: Annotated[str, Path(pattern=r"^\d{6}(\d{3}){0,2}$")]
) -> RegionOut:
    region = await CatalogRepository(session).region(code)
    if region is None:
        raise NotFound(f"region {code} not found")
    return RegionOut.model_validate(region)


# --- stations --------------------------------------------------------------------------------


@router.get(
    "/stations/nearby",
    operation_id="stations_nearby",
    tags=["stations"],
    summary="Stations handling an item within a travel time, nearest first (public)",
    description=(
        "Travel time = straight-line distance × detour factor / speed of the mode (walk 5, "
        "bicycle 12, car 30 km/h, factor 1.3). Only stations within `minutes` are answered, "
        "nearest first; stations at the same distance (to 0.1 m) in id order. None in reach "
        "is an empty list. Served from each process's in-memory grid index of the network: a "
        "new station is found within 5 seconds of being opened."
    ),
    response_model=NearbyStations,
    responses=problems(422),
)
async def nearby_stations(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90, examples=[37.432])],
    lon: Annotated[float, Query(ge=-180, le=180, examples=[118.02])],
    item: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$", examples=["SI03"])] = None,
    mode: TravelMode = TravelMode.walk,
    minutes: Minutes = 15,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> NearbyStations:
    return await service.nearby_stations(
        _station_cache(request),
        _travel_model(request),
        lat=lat,
        lon=lon,
        item=item,
        mode=mode,
        minutes=minutes,
        limit=limit,
    )


@router.get(
    "/stations",
    operation_id="stations_list",
    tags=["stations"],
    summary="List stations by id (public)",
    response_model=Page[StationOut],
    responses=problems(422),
)
async def list_stations(
    session: ReadSession,
    page: PageById,
    station_type: Annotated[str | None, Query(pattern=r"^[a-z_]{1,30}$")] = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> Page[StationOut]:
    repo = StationRepository(session)
    rows = await repo.page(page.after, page.limit + 1, station_type, region_code)
    rows, cursor = page.page(rows, key=lambda s: s.id)
    items = await repo.items_by_station([s.id for s in rows])
    return Page(items=[service.station_out(s, items[s.id]) for s in rows], next_cursor=cursor)


@router.post(
    "/stations",
    operation_id="stations_create",
    tags=["stations"],
    summary="Open a station (admin); its items default to its type's duties",
    status_code=201,
    response_model=StationOut,
    responses=problems(401, 403, 422),
)
async def create_station(
    request: Request, body: StationCreate, session: DbSession, _: StationsAdmin
) -> StationOut:
    created = await service.create_station(session, body)
    _station_cache(request).invalidate()
    return created


@router.get(
    "/stations/{station_id}",
    operation_id="stations_get",
    tags=["stations"],
    summary="One station with the items it handles (public)",
    response_model=StationOut,
    responses=problems(404, 422),
)
async def get_station(station_id: PathId, session: ReadSession) -> StationOut:
    return await service.get_station(session, station_id)


@router.get(
    "/coverage",
    operation_id="service_coverage_get",
    tags=["stations"],
    summary="Villages with no station handling an item within a travel time (public)",
    description="The 15-minute service circle as a figure: uncovered villages, most populous "
    "first, and the share of the population that has a station in reach.",
    response_model=ServiceCoverageOut,
    responses=problems(422),
)
async def coverage(
    request: Request,
    session: ReadSession,
    mode: TravelMode = TravelMode.walk,
    minutes: Minutes = 15,
    item: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$", examples=["SI26"])] = None,
    limit: Annotated[int, Query(ge=0, le=10_000, description="Uncovered villages listed")] = 500,
) -> ServiceCoverageOut:
    return await service.coverage(
        session, _travel_model(request), mode=mode, minutes=minutes, item=item, limit=limit
    )


# --- institutions ----------------------------------------------------------------------------


@router.post(
    "/institutions",
    operation_id="medical_institutions_create",
    tags=["medical institutions"],
    summary="Register a designated institution (admin)",
    status_code=201,
    response_model=MedicalInstitutionOut,
    responses=problems(401, 403, 409, 422),
)
async def create_institution(
    body: MedicalInstitutionCreate, session: DbSession, _: StationsAdmin
) -> MedicalInstitutionOut:
    return await service.create_institution(session, body)


@router.get(
    "/institutions",
    operation_id="medical_institutions_list",
    tags=["medical institutions"],
    summary="List designated institutions by code (public)",
    response_model=Page[MedicalInstitutionOut],
    responses=problems(422),
)
async def list_institutions(
    session: ReadSession,
    page: PageByCode,
    kind: InstitutionKind | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> Page[MedicalInstitutionOut]:
    rows = await InstitutionRepository(session).page(
        page.after, page.limit + 1, kind.value if kind else None, region_code
    )
    rows, cursor = page.page(rows, key=lambda i: i.code)
    return Page(items=[service.institution_out(i) for i in rows], next_cursor=cursor)


@router.get(
    "/institutions/{code}",
    operation_id="medical_institutions_get",
    tags=["medical institutions"],
    summary="A designated institution: tier, off-site, designation (public)",
    response_model=MedicalInstitutionOut,
    responses=problems(404, 422),
)
async def get_institution(code: Code, session: ReadSession) -> MedicalInstitutionOut:
    return service.institution_out(await service.get_institution(session, code))


@router.patch(
    "/institutions/{code}",
    operation_id="medical_institutions_update",
    tags=["medical institutions"],
    summary="Change an institution's name, tier or designation (admin)",
    response_model=MedicalInstitutionOut,
    responses=problems(401, 403, 404, 422),
)
async def update_institution(
    code: Code, body: MedicalInstitutionUpdate, session: DbSession, _: StationsAdmin
) -> MedicalInstitutionOut:
    return await service.update_institution(session, code, body)


# --- pharmacies ------------------------------------------------------------------------------


@router.put(
    "/pharmacies/{code}/inventory",
    operation_id="pharmacy_inventory_put",
    tags=["pharmacies"],
    summary="Report price and stock of many drugs at once (own pharmacy)",
    description=(
        "A bulk upsert of up to 10,000 rows in one transaction. Rows not in the report stay as "
        "they were (report stock 0 for a drug sold out). **All or nothing**: if any row is bad "
        "(malformed price, negative stock, a drug not in the claims catalog, a drug twice) the "
        "answer is 422 with `errors` naming each bad row as `body.<row>.<field>`, and no row "
        "is applied. Drug codes are checked against the claims catalog (cached); a price above "
        "the drug's payment standard is accepted and listed in `flagged`."
    ),
    response_model=InventoryUpsertOut,
    responses=problems(401, 403, 404, 422, 503, 504),
)
async def put_inventory(
    request: Request,
    code: Code,
    rows: Annotated[list[InventoryRowIn], Body(max_length=MAX_INVENTORY_ROWS)],
    session: DbSession,
    principal: PharmacyClient,
) -> InventoryUpsertOut:
    return await service.upsert_pharmacy_inventory(
        session, _drug_catalog(request), principal, code, rows
    )


@router.get(
    "/pharmacies/{code}/inventory",
    operation_id="pharmacy_inventory_get",
    tags=["pharmacies"],
    summary="A pharmacy's own price and stock, by drug code",
    response_model=Page[InventoryRowOut],
    responses=problems(401, 403, 404, 422),
)
async def get_inventory(
    code: Code, session: ReadSession, principal: PharmacyClient, page: PageByCode
) -> Page[InventoryRowOut]:
    await service.own_pharmacy(session, principal, code)
    rows = await inventory_page(session, code, page.after, page.limit + 1)
    rows, cursor = page.page(rows, key=lambda r: r.drug_code)
    return Page(
        items=[
            InventoryRowOut(
                drug_code=r.drug_code,
                price=r.price,
                stock=r.stock,
                payment_standard=r.payment_standard,
                above_payment_standard=above_standard(r.price, r.payment_standard),
                updated_at=r.updated_at,
            )
            for r in rows
        ],
        next_cursor=cursor,
    )


@router.get(
    "/pharmacies/nearby",
    operation_id="pharmacies_nearby",
    tags=["pharmacies"],
    summary="The nearest designated pharmacies with a drug, with price and stock (public)",
    response_model=NearbyPharmacies,
    responses=problems(422),
)
async def nearby_pharmacies(
    session: ReadSession,
    drug_code: Annotated[DrugCode, Query()],
    lat: Annotated[Latitude, Query()],
    lon: Annotated[Longitude, Query()],
    in_stock: bool = True,
    radius_m: Annotated[float, Query(gt=0, le=MAX_PHARMACY_RADIUS_M)] = 20_000,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> NearbyPharmacies:
    return await service.nearby_pharmacies(
        session,
        drug_code=drug_code,
        lat=lat,
        lon=lon,
        in_stock=in_stock,
        radius_m=radius_m,
        limit=limit,
    )


# --- video service ---------------------------------------------------------------------------


@router.post(
    "/stations/{station_id}/video-requests",
    operation_id="video_requests_create",
    tags=["video service"],
    summary="Ask a station to handle an item by video (app, for its person)",
    status_code=201,
    response_model=VideoRequestOut,
    responses=problems(401, 403, 404, 422),
)
async def request_video(
    station_id: PathId, body: VideoRequestCreate, session: DbSession, principal: PersonApp
) -> VideoRequestOut:
    return await service.request_video_service(session, principal, station_id, body)


@router.get(
    "/stations/{station_id}/video-requests",
    operation_id="station_video_requests_list",
    tags=["video service"],
    summary="A station's queue of video requests, oldest first (own station)",
    response_model=Page[VideoRequestOut],
    responses=problems(401, 403, 422),
)
async def station_queue(
    station_id: PathId,
    session: ReadSession,
    principal: StationClient,
    page: PageById,
    status: VideoStatus | None = VideoStatus.queued,
) -> Page[VideoRequestOut]:
    rows = await service.station_queue(
        session, principal, station_id, status, page.after, page.limit + 1
    )
    rows, cursor = page.page(rows, key=lambda r: r.id)
    return Page(items=[service.video_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/video-requests",
    operation_id="video_requests_list",
    tags=["video service"],
    summary="The calling person's video requests (app)",
    response_model=Page[VideoRequestOut],
    responses=problems(401, 403, 422),
)
async def my_video_requests(
    session: ReadSession, principal: PersonApp, page: PageById
) -> Page[VideoRequestOut]:
    assert principal.person_id is not None
    rows = await service.person_requests(session, principal.person_id, page.after, page.limit + 1)
    rows, cursor = page.page(rows, key=lambda r: r.id)
    return Page(items=[service.video_out(r) for r in rows], next_cursor=cursor)


@router.get(
    "/video-requests/{request_id}",
    operation_id="video_requests_get",
    tags=["video service"],
    summary="One video request (its person, its station)",
    response_model=VideoRequestOut,
    responses=problems(401, 403, 404),
)
async def get_video_request(
    request_id: PathId, session: ReadSession, principal: VideoParty
) -> VideoRequestOut:
    return service.video_out(await service.get_video_request(session, principal, request_id))


def _video_action(action: VideoAction, summary: str) -> None:
    async def act(request_id: PathId, session: DbSession, principal: VideoParty) -> VideoRequestOut:
        return await service.act_on_video_request(session, principal, request_id, action)

    router.add_api_route(
        f"/video-requests/{{request_id}}/{action.value}",
        act,
        methods=["POST"],
        tags=["video service"],
        summary=summary,
        response_model=VideoRequestOut,
        responses=problems(401, 403, 404, 409),
        name=f"video_request_{action.value}",
        operation_id=f"video_requests_{action.value}",
    )


_video_action(VideoAction.accept, "Accept a queued request (its station)")
_video_action(VideoAction.complete, "Complete an accepted request; the item counts as handled")
_video_action(VideoAction.cancel, "Cancel an open request (its person or its station)")


@router.post(
    "/stations/{station_id}/handled-items",
    operation_id="handled_items_create",
    tags=["video service"],
    summary="Record an item handled at the station's counter (own station)",
    status_code=201,
    response_model=HandledItemOut,
    responses=problems(401, 403, 404, 422),
)
async def record_handled(
    station_id: PathId, body: HandledItemCreate, session: DbSession, principal: StationClient
) -> HandledItemOut:
    return await service.record_handled(
        session, principal, station_id, body.item_code, body.person_id
    )


@router.get(
    "/stations/{station_id}/handled-items",
    operation_id="handled_items_per_month",
    tags=["video service"],
    summary="Items handled by a station per month, item and channel (own station)",
    response_model=list[HandledCount],
    responses=problems(401, 403, 422),
)
async def handled_per_month(
    station_id: PathId,
    session: ReadSession,
    principal: StationClient,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[HandledCount]:
    since = until = None
    if year is not None:
        zone = ZoneInfo(service.MONTH_TIME_ZONE)
        since, until = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    return await service.handled_per_month(session, principal, station_id, since, until)
