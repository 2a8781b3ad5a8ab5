"""Request and response bodies of the stations API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.stations.domain.codes import (
    INSTITUTION_CODE_PATTERN,
    InstitutionKind,
    validate_institution_code,
)
from services.stations.domain.geo import TravelMode
from services.stations.domain.video import VideoStatus
from shared.money import Money
from shared.schemas import Id, StrictModel, Text
from shared.validators import RegionCode

InstitutionCode = Annotated[
    str,
    Field(pattern=INSTITUTION_CODE_PATTERN, examples=["H37160200001"]),
    AfterValidator(validate_institution_code),
]
Latitude = Annotated[float, Field(ge=-90, le=90, examples=[37.432])]
Longitude = Annotated[float, Field(ge=-180, le=180, examples=[118.02])]
DrugCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]{1,39}$", examples=["XA0001"])]
ItemCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}$", examples=["SI03"])]


# --- catalog and regions ---------------------------------------------------------------------


class ServiceItemOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"code": "SI03", "name": "异地就医备案", "online": True, "scheme": "both"}]
        },
    )

    code: str
    name: str
    online: bool
    scheme: str = Field(description="employee | resident | both: whom the item serves")


class StationTypeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "township",
                    "name": "乡镇（街道）医保服务站",
                    "level": "township",
                    "items": ["SI03", "SI22"],
                    "employee_items": 1,
                    "resident_items": 2,
                    "assumed": False,
                }
            ]
        }
    )

    code: str
    name: str
    level: str
    items: list[str] = Field(description="The item codes every station of the type handles")
    employee_items: int
    resident_items: int
    assumed: bool = Field(description="Whether the duty list is assumed rather than the seed's")


class RegionOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "371602001001",
                    "name": "市中街道第1社区",
                    "level": "village",
                    "parent_code": "371602001",
                    "lat": 37.44,
                    "lon": 118.03,
                    "population": 1830,
                }
            ]
        },
    )

    code: str
    name: str
    level: str
    parent_code: str | None
    lat: float
    lon: float
    population: int | None


# --- stations --------------------------------------------------------------------------------


class StationCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "市中街道医保服务站",
                    "station_type": "township",
                    "region_code": "371602001",
                    "lat": 37.44,
                    "lon": 118.03,
                    "opening_hours": "Mo-Fr 08:30-12:00,13:30-17:30",
                    "phone": "0543-3161234",
                }
            ]
        }
    )

    name: Text = Field(min_length=1, max_length=200)
    station_type: str = Field(pattern=r"^[a-z_]{1,30}$", examples=["township"])
    region_code: RegionCode
    lat: Latitude
    lon: Longitude
    address: Text | None = Field(None, max_length=300)
    opening_hours: Text = Field("Mo-Fr 08:30-12:00,13:30-17:30", max_length=200)
    phone: str | None = Field(None, pattern=r"^\+?[0-9\-]{5,30}$")
    items: list[ItemCode] | None = Field(
        None, description="Items handled; omitted, the station type's duties", max_length=100
    )
    institution_code: InstitutionCode | None = None


class StationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station_id": 1,
                    "name": "市中街道医保服务站",
                    "station_type": "township",
                    "level": "township",
                    "region_code": "371602001",
                    "lat": 37.44,
                    "lon": 118.03,
                    "address": "滨州市滨城区市中街道",
                    "opening_hours": "Mo-Fr 08:30-12:00,13:30-17:30",
                    "phone": "0543-3161234",
                    "institution_code": None,
                    "items": ["SI03", "SI22"],
                }
            ]
        }
    )

    station_id: int
    name: str
    station_type: str
    level: str
    region_code: str
    lat: float
    lon: float
    address: str | None
    opening_hours: str
    phone: str | None
    institution_code: str | None
    items: list[str]


class NearbyStation(BaseModel):
    station_id: int
    name: str
    station_type: str
    level: str
    region_code: str
    lat: float
    lon: float
    opening_hours: str
    phone: str | None
    distance_m: float = Field(description="Straight-line distance, metres, to 0.1")
    travel_minutes: float = Field(description="Estimated travel time by the mode asked, to 0.1")


class NearbyStations(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item": "SI03",
                    "mode": "walk",
                    "minutes": 15,
                    "reach_m": 961.5,
                    "items": [
                        {
                            "station_id": 1,
                            "name": "市中街道医保服务站",
                            "station_type": "township",
                            "level": "township",
                            "region_code": "371602001",
                            "lat": 37.44,
                            "lon": 118.03,
                            "opening_hours": "Mo-Fr 08:30-12:00,13:30-17:30",
                            "phone": "0543-3161234",
                            "distance_m": 212.4,
                            "travel_minutes": 3.3,
                        }
                    ],
                }
            ]
        }
    )

    item: str | None
    mode: TravelMode
    minutes: float
    reach_m: float = Field(description="The straight-line distance the time allows")
    items: list[NearbyStation]


class UncoveredVillage(BaseModel):
    code: str
    name: str
    township_code: str | None
    population: int


class ServiceCoverageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item": "SI26",
                    "mode": "walk",
                    "minutes": 15,
                    "villages": 1760,
                    "villages_uncovered": 1,
                    "population": 2400000,
                    "population_covered": 2398200,
                    "covered_share": 0.99925,
                    "uncovered": [
                        {
                            "code": "371602011005",
                            "name": "里则街道第5社区",
                            "township_code": "371602011",
                            "population": 1800,
                        }
                    ],
                }
            ]
        }
    )

    item: str | None
    mode: TravelMode
    minutes: float
    villages: int
    villages_uncovered: int
    population: int
    population_covered: int
    covered_share: float = Field(description="population_covered / population, 0 to 1")
    uncovered: list[UncoveredVillage] = Field(description="Most populous first, up to limit")


# --- institutions ----------------------------------------------------------------------------


class MedicalInstitutionCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "H37160200001",
                    "name": "滨州市人民医院",
                    "kind": "hospital",
                    "tier": 3,
                    "region_code": "371602",
                    "lat": 37.45,
                    "lon": 118.0,
                }
            ]
        }
    )

    code: InstitutionCode
    name: Text = Field(min_length=1, max_length=200)
    kind: InstitutionKind
    tier: int | None = Field(None, ge=1, le=3, description="Hospitals: 1, 2 or 3; pharmacies none")
    region_code: RegionCode
    lat: Latitude
    lon: Longitude
    designated: bool = True


class MedicalInstitutionUpdate(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"designated": False}]})

    name: Text | None = Field(None, min_length=1, max_length=200)
    tier: int | None = Field(None, ge=1, le=3)
    designated: bool | None = None


class MedicalInstitutionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "H37160200001",
                    "name": "滨州市人民医院",
                    "kind": "hospital",
                    "tier": 3,
                    "region_code": "371602",
                    "lat": 37.45,
                    "lon": 118.0,
                    "offsite": False,
                    "designated": True,
                }
            ]
        }
    )

    code: str
    name: str
    kind: InstitutionKind
    tier: int | None
    region_code: str
    lat: float
    lon: float
    offsite: bool = Field(description="Outside the city (region not under 3716)")
    designated: bool


# --- pharmacy inventory ----------------------------------------------------------------------


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("a price is not negative")
    return value


class InventoryRowIn(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"drug_code": "XA0001", "price": "12.50", "stock": 40}]},
    )

    drug_code: DrugCode
    price: Annotated[Money, AfterValidator(_not_negative), Field(le=Decimal("999999.99"))]
    stock: int = Field(ge=0, le=10_000_000)


class InventoryRowOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "drug_code": "XA0001",
                    "price": "12.50",
                    "stock": 40,
                    "payment_standard": "11.80",
                    "above_payment_standard": True,
                    "updated_at": "2026-11-23T12:00:00Z",
                }
            ]
        }
    )

    drug_code: str
    price: Money
    stock: int
    payment_standard: Money | None
    above_payment_standard: bool
    updated_at: datetime


class FlaggedRow(BaseModel):
    row: int
    drug_code: str
    price: Money
    payment_standard: Money
    above_payment_standard: bool = True


class InventoryUpsertOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pharmacy_code": "P37160200007",
                    "applied": 2,
                    "created": 1,
                    "updated": 1,
                    "flagged": [
                        {
                            "row": 0,
                            "drug_code": "XA0001",
                            "price": "12.50",
                            "payment_standard": "11.80",
                            "above_payment_standard": True,
                        }
                    ],
                }
            ]
        }
    )

    pharmacy_code: str
    applied: int
    created: int
    updated: int
    flagged: list[FlaggedRow] = Field(description="Rows priced above the payment standard")


class NearbyPharmacy(BaseModel):
    code: str
    name: str
    region_code: str
    lat: float
    lon: float
    distance_m: float
    drug_code: str
    price: Money
    stock: int
    payment_standard: Money | None
    above_payment_standard: bool


class NearbyPharmacies(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "drug_code": "XA0001",
                    "radius_m": 20000,
                    "items": [
                        {
                            "code": "P37160200007",
                            "name": "滨城区第7医保定点药店",
                            "region_code": "371602003",
                            "lat": 37.44,
                            "lon": 118.0,
                            "distance_m": 812.3,
                            "drug_code": "XA0001",
                            "price": "11.50",
                            "stock": 40,
                            "payment_standard": "11.80",
                            "above_payment_standard": False,
                        }
                    ],
                }
            ]
        }
    )

    drug_code: str
    radius_m: float
    items: list[NearbyPharmacy]


# --- video service ---------------------------------------------------------------------------


class VideoRequestCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"item_code": "SI05", "note": "异地住院手工报销"}]}
    )

    item_code: ItemCode
    note: Text | None = Field(None, max_length=500)


class VideoRequestOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": 12,
                    "person_id": 3,
                    "station_id": 1,
                    "item_code": "SI05",
                    "status": "queued",
                    "note": "异地住院手工报销",
                    "created_at": "2026-11-23T12:00:00Z",
                    "accepted_at": None,
                    "completed_at": None,
                }
            ]
        }
    )

    request_id: int
    person_id: int
    station_id: int
    item_code: str
    status: VideoStatus
    note: str | None
    created_at: datetime
    accepted_at: datetime | None
    completed_at: datetime | None


class HandledItemCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"item_code": "SI03", "person_id": 3}]}
    )

    item_code: ItemCode
    person_id: Id | None = None


class HandledItemOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "handled_id": 31,
                    "station_id": 1,
                    "item_code": "SI03",
                    "channel": "counter",
                    "person_id": 3,
                    "handled_at": "2026-11-23T12:00:00Z",
                }
            ]
        }
    )

    handled_id: int
    station_id: int
    item_code: str
    channel: str
    person_id: int | None
    handled_at: datetime


class HandledCount(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"month": "2026-11", "item_code": "SI03", "channel": "video", "count": 4}]
        }
    )

    month: str = Field(description="YYYY-MM, Beijing time")
    item_code: str
    channel: str
    count: int
