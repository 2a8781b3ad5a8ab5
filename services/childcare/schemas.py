"""Request and response bodies of the childcare API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from services.childcare.domain.credit import Rating, Result, Severity
from services.childcare.domain.filing import Action, Role, State
from services.childcare.domain.institution import (
    AgeGroup,
    FeePeriod,
    Form,
    Nature,
    RegistrationAuthority,
    ServiceMode,
)
from services.childcare.domain.staff import InspectionLevel, StaffRole
from shared.money import Money
from shared.personal_data import STAFF
from shared.schemas import Day, Id, StrictModel, Text
from shared.validators import USCC, IdNumber, RegionCode

PHONE = r"^\+?[0-9\-]{5,20}$"
Places = Annotated[int, Field(ge=0, le=10_000)]


class FacilityFacts(StrictModel):
    """What the filing form asks about the premises (场地设施)."""

    indoor_area_m2: int = Field(0, ge=0, le=100_000)
    outdoor_area_m2: int = Field(0, ge=0, le=100_000)
    floor: int = Field(1, ge=-3, le=100, description="Floor the rooms are on (1 = ground)")
    has_kitchen: bool = False
    has_health_room: bool = False
    cctv: bool = False
    fire_safety_approved: bool = False


class FeeIn(StrictModel):
    amount: Money = Field(ge=0, le=1_000_000)
    period: FeePeriod = FeePeriod.month


_INSTITUTION_EXAMPLE: dict[str, Any] = {
    "uscc": "91371602MA0000017G",
    "name": "小太阳托育园",
    "nature": "for_profit",
    "registration_authority": "market_regulation",
    "form": "standalone",
    "region_code": "371602001",
    "address": "滨城区黄河五路 100 号",
    "lat": 37.43,
    "lon": 118.02,
    "phone": "0543-3000000",
    "capacity": {"infant": 10, "toddler": 20, "preschool": 30},
    "service_modes": ["full_day", "hourly"],
    "fees": {
        "full_day": {"amount": "1800.00", "period": "month"},
        "hourly": {"amount": "30.00", "period": "hour"},
    },
    "facilities": {"indoor_area_m2": 400, "outdoor_area_m2": 200, "has_kitchen": True},
}


class ChildcareInstitutionCreate(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_INSTITUTION_EXAMPLE]})

    uscc: USCC
    name: Text = Field(min_length=1, max_length=200)
    nature: Nature
    registration_authority: RegistrationAuthority
    form: Form
    region_code: RegionCode
    address: Text = Field(min_length=1, max_length=300)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    phone: str | None = Field(None, pattern=PHONE)
    capacity: dict[AgeGroup, Places] = Field(
        description="Places per age group: infant 0-1, toddler 1-2, preschool 2-3"
    )
    service_modes: list[ServiceMode] = Field(min_length=1, max_length=4)
    fees: dict[ServiceMode, FeeIn] = Field(default_factory=dict)
    facilities: FacilityFacts = Field(default_factory=FacilityFacts)
    demonstration: bool = Field(False, description="示范性: set by the commission (admin)")


class ChildcareInstitutionPatch(StrictModel):
    """Particulars to change; absent fields stay as they are. The credit code never changes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"address": "滨城区黄河五路 102 号", "phone": "0543-3000001"}]
        }
    )

    name: Text | None = Field(None, min_length=1, max_length=200)
    nature: Nature | None = None
    registration_authority: RegistrationAuthority | None = None
    form: Form | None = None
    region_code: RegionCode | None = None
    address: Text | None = Field(None, min_length=1, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    phone: str | None = Field(None, pattern=PHONE)
    capacity: dict[AgeGroup, Places] | None = None
    service_modes: list[ServiceMode] | None = Field(None, min_length=1, max_length=4)
    fees: dict[ServiceMode, FeeIn] | None = None
    facilities: FacilityFacts | None = None


class CapacityOut(BaseModel):
    age_group: AgeGroup
    capacity: int
    enrolled: int
    vacancy: int


class FeeOut(BaseModel):
    service_mode: ServiceMode
    amount: Money
    period: FeePeriod


_FILING_EXAMPLE: dict[str, Any] = {
    "institution_id": 1,
    "state": "approved",
    "filing_number": "托备-371602-2026-0001",
    "filed_on": "2026-11-23",
    "version": 2,
    "allowed_actions": ["change", "suspend", "deregister"],
}


class FilingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_FILING_EXAMPLE]})

    institution_id: int
    state: State
    filing_number: str | None
    filed_on: date | None
    version: int
    allowed_actions: list[Action] = Field(description="What the caller may do next from this state")


class ChildcareInstitutionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "uscc": "91371602MA0000017G",
                    "name": "小太阳托育园",
                    "nature": "for_profit",
                    "registration_authority": "market_regulation",
                    "form": "standalone",
                    "region_code": "371602001",
                    "address": "滨城区黄河五路 100 号",
                    "lat": 37.43,
                    "lon": 118.02,
                    "phone": "0543-3000000",
                    "capacity": [
                        {"age_group": "toddler", "capacity": 20, "enrolled": 12, "vacancy": 8}
                    ],
                    "service_modes": ["full_day"],
                    "fees": [{"service_mode": "full_day", "amount": "1800.00", "period": "month"}],
                    "facilities": {
                        "indoor_area_m2": 400,
                        "outdoor_area_m2": 200,
                        "floor": 1,
                        "has_kitchen": True,
                        "has_health_room": False,
                        "cctv": True,
                        "fire_safety_approved": True,
                    },
                    "demonstration": False,
                    "filing": _FILING_EXAMPLE,
                }
            ]
        }
    )

    id: int
    uscc: str
    name: str
    nature: Nature
    registration_authority: RegistrationAuthority
    form: Form
    region_code: str
    address: str
    lat: float | None
    lon: float | None
    phone: str | None
    capacity: list[CapacityOut]
    service_modes: list[ServiceMode]
    fees: list[FeeOut]
    facilities: FacilityFacts
    demonstration: bool
    filing: FilingOut


class InstitutionListItem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "小太阳托育园",
                    "form": "standalone",
                    "nature": "for_profit",
                    "region_code": "371602001",
                    "state": "approved",
                    "filing_number": "托备-371602-2026-0001",
                    "demonstration": False,
                }
            ]
        }
    )

    id: int
    name: str
    form: Form
    nature: Nature
    region_code: str
    state: State
    filing_number: str | None
    demonstration: bool


class OccupancyIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"enrolled": {"toddler": 12}}]})

    enrolled: dict[AgeGroup, Places] = Field(description="Children enrolled now, per age group")


class DemonstrationIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"demonstration": True}]})

    demonstration: bool


class TransitionIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "消防验收意见书缺失,请补充后重新提交"}]}
    )

    reason: Text | None = Field(
        None,
        max_length=2000,
        description="Why: required to return, reject, suspend, change and deregister",
    )


class ChangeIn(TransitionIn):
    """A change of filed particulars: what changes, and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "搬迁至新址", "changes": {"address": "滨城区渤海七路 8 号"}}]
        }
    )

    changes: ChildcareInstitutionPatch


class FilingEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    action: Action
    from_state: State
    to_state: State
    role: Role
    actor: str
    reason: str | None
    details: dict[str, object] | None
    at: datetime


class FilingHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "institution_id": 1,
                    "state": "submitted",
                    "events": [
                        {
                            "seq": 1,
                            "action": "submit",
                            "from_state": "draft",
                            "to_state": "submitted",
                            "role": "operator",
                            "actor": "childcare-operator-1a2b3c4d5e6f",
                            "reason": None,
                            "details": None,
                            "at": "2026-11-20T09:00:00Z",
                        }
                    ],
                }
            ]
        }
    )

    institution_id: int
    state: State
    events: list[FilingEventOut]


# --- staff and bans --------------------------------------------------------------------------


class StaffCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id_number": "371602198001010013",
                    "name": "张丽",
                    "role": "caregiver",
                    "qualification": "保育员(四级)",
                    "phone": "13800000000",
                    "health_check_on": "2026-03-01",
                    "training_hours": 40,
                    "last_training_on": "2026-05-10",
                    "hired_on": "2025-09-01",
                }
            ]
        }
    )

    id_number: IdNumber
    name: Text = Field(min_length=1, max_length=100)
    role: StaffRole
    qualification: Text | None = Field(None, max_length=200)
    phone: str | None = Field(None, pattern=PHONE)
    health_check_on: Day | None = Field(None, description="Date of the last yearly health check")
    training_hours: int = Field(0, ge=0, le=10_000)
    last_training_on: Day | None = None
    hired_on: Day


class StaffPatch(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"health_check_on": "2026-11-01"}]})

    qualification: Text | None = Field(None, max_length=200)
    phone: str | None = Field(None, pattern=PHONE)
    health_check_on: Day | None = None
    training_hours: int | None = Field(None, ge=0, le=10_000)
    last_training_on: Day | None = None
    left_on: Day | None = Field(None, description="Set when the person leaves")


class StaffOut(BaseModel):
    """One member of staff: the ID number and phone as the personal-data policy says."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "institution_id": 1,
                    "id_number": "371602198001010013",
                    "name": "张丽",
                    "role": "caregiver",
                    "qualification": "保育员(四级)",
                    "phone": "13800000000",
                    "health_check_on": "2026-03-01",
                    "health_check_due_on": "2027-03-01",
                    "health_check_overdue": False,
                    "training_hours": 40,
                    "last_training_on": "2026-05-10",
                    "hired_on": "2025-09-01",
                    "left_on": None,
                }
            ]
        }
    )

    id: int
    institution_id: int
    id_number: str = Field(description=STAFF.description)
    name: str
    role: StaffRole
    qualification: str | None
    phone: str | None = Field(description=STAFF.description)
    health_check_on: date | None
    health_check_due_on: date | None
    health_check_overdue: bool
    training_hours: int
    last_training_on: date | None
    hired_on: date
    left_on: date | None


class StaffListItem(BaseModel):
    """A member of staff in a list: ID number masked, no phone."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "institution_id": 1,
                    "id_number_masked": "371602********0013",
                    "name": "张丽",
                    "role": "caregiver",
                    "qualification": "保育员(四级)",
                    "health_check_on": "2026-03-01",
                    "health_check_due_on": "2027-03-01",
                    "health_check_overdue": False,
                    "training_hours": 40,
                    "hired_on": "2025-09-01",
                    "left_on": None,
                }
            ]
        }
    )

    id: int
    institution_id: int
    id_number_masked: str
    name: str
    role: StaffRole
    qualification: str | None
    health_check_on: date | None
    health_check_due_on: date | None
    health_check_overdue: bool
    training_hours: int
    hired_on: date
    left_on: date | None


class BanCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id_number": "371602199001010011",
                    "name": "某某",
                    "reason": "虐待婴幼儿,法院判决",
                }
            ]
        }
    )

    id_number: IdNumber
    name: Text = Field(min_length=1, max_length=100)
    reason: Text = Field(min_length=1, max_length=2000)


class BanOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "id_number_masked": "371602********0011",
                    "name": "某某",
                    "reason": "虐待婴幼儿,法院判决",
                    "banned_at": "2026-10-01T08:00:00Z",
                    "flagged_institution_ids": [1],
                }
            ]
        }
    )

    id: int
    id_number_masked: str
    name: str
    reason: str
    banned_at: datetime
    flagged_institution_ids: list[int]


class BanFlagOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 6,
                    "ban_id": 2,
                    "institution_id": 1,
                    "institution_name": "小太阳托育园",
                    "region_code": "371602001",
                    "staff_id": 4,
                    "staff_name": "某某",
                    "id_number_masked": "371602********0011",
                    "created_at": "2026-10-01T08:00:00Z",
                    "resolved_at": None,
                }
            ]
        }
    )

    id: int
    ban_id: int
    institution_id: int
    institution_name: str
    region_code: str
    staff_id: int
    staff_name: str
    id_number_masked: str
    created_at: datetime
    resolved_at: datetime | None


# --- supervision -----------------------------------------------------------------------------


class InspectorCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "INS-371602-09", "name": "刘洋", "region_code": "371602"}]
        }
    )

    code: Text = Field(min_length=1, max_length=40)
    name: Text = Field(min_length=1, max_length=100)
    region_code: RegionCode
    level: InspectionLevel = InspectionLevel.county


class InspectorOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "code": "INS-371602-09",
                    "name": "刘洋",
                    "region_code": "371602",
                    "level": "county",
                }
            ]
        },
    )

    id: int
    code: str
    name: str
    region_code: str
    level: InspectionLevel


class Finding(StrictModel):
    item: Text = Field(min_length=1, max_length=200, description="What was checked")
    description: Text = Field(min_length=1, max_length=2000)
    severity: Severity


class InspectionCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "level": "county",
                    "inspected_on": "2026-11-20",
                    "inspector_ids": [1, 2],
                    "result": "rectify",
                    "findings": [
                        {
                            "item": "消防安全",
                            "description": "灭火器过期",
                            "severity": "major",
                        }
                    ],
                    "rectification_deadline": "2026-12-20",
                }
            ]
        }
    )

    level: InspectionLevel
    inspected_on: Day
    inspector_ids: list[Id] = Field(default_factory=list, max_length=20)
    result: Result
    findings: list[Finding] = Field(default_factory=list, max_length=100)
    rectification_deadline: Day | None = None
    reinspection_of: Id | None = Field(
        None, description="The inspection whose rectification this one checks (复查)"
    )
    draw_id: Id | None = Field(None, description="The double-random draw that picked it")


class InspectionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "institution_id": 1,
                    "level": "county",
                    "inspected_on": "2026-11-20",
                    "inspector_ids": [1, 2],
                    "result": "rectify",
                    "findings": [
                        {"item": "消防安全", "description": "灭火器过期", "severity": "major"}
                    ],
                    "max_severity": "major",
                    "rectification_deadline": "2026-12-20",
                    "rectified_on": None,
                    "reinspection_of": None,
                    "draw_id": None,
                }
            ]
        }
    )

    id: int
    institution_id: int
    level: InspectionLevel
    inspected_on: date
    inspector_ids: list[int]
    result: Result
    findings: list[Finding]
    max_severity: Severity | None
    rectification_deadline: date | None
    rectified_on: date | None
    reinspection_of: int | None
    draw_id: int | None


class DrawCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region_code": "371602",
                    "institution_count": 3,
                    "inspector_count": 2,
                    "seed": 20261123,
                }
            ]
        }
    )

    region_code: RegionCode
    institution_count: int = Field(ge=1, le=1000)
    inspector_count: int = Field(ge=1, le=100)
    seed: int | None = Field(
        None, ge=0, lt=2**63, description="Omit to let the service pick and record one"
    )


class DrawOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "region_code": "371602",
                    "seed": 20261123,
                    "institution_count": 3,
                    "inspector_count": 2,
                    "candidate_institutions": 14,
                    "candidate_inspectors": 6,
                    "institution_ids": [1, 5, 9],
                    "inspector_ids": [1, 2],
                    "created_at": "2026-11-23T09:00:00Z",
                    "published_at": None,
                }
            ]
        }
    )

    id: int
    region_code: str
    seed: int
    institution_count: int
    inspector_count: int
    candidate_institutions: int
    candidate_inspectors: int
    institution_ids: list[int]
    inspector_ids: list[int]
    created_at: datetime
    published_at: datetime | None


class DrawCheck(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "draw_id": 3,
                    "seed": 20261123,
                    "reproduced": True,
                    "institution_ids": [1, 5, 9],
                    "inspector_ids": [1, 2],
                }
            ]
        }
    )

    draw_id: int
    seed: int
    reproduced: bool
    institution_ids: list[int]
    inspector_ids: list[int]


class PublicDrawInstitution(BaseModel):
    id: int
    name: str


class PublicDraw(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "region_code": "371602",
                    "seed": 20261123,
                    "institutions": [{"id": 1, "name": "小太阳托育园"}],
                    "inspectors": ["刘洋"],
                    "published_at": "2026-11-24T09:00:00Z",
                }
            ]
        }
    )

    id: int
    region_code: str
    seed: int
    institutions: list[PublicDrawInstitution]
    inspectors: list[str]
    published_at: datetime


class CreditOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "institution_id": 1,
                    "name": "小太阳托育园",
                    "region_code": "371602001",
                    "score": 92,
                    "rating": "A",
                    "inspections": 2,
                    "red_list": True,
                    "black_list": False,
                }
            ]
        }
    )

    institution_id: int
    name: str
    region_code: str
    score: int
    rating: Rating
    inspections: int
    red_list: bool
    black_list: bool


# --- public disclosure -----------------------------------------------------------------------


class LatestInspection(BaseModel):
    inspected_on: date
    level: InspectionLevel
    result: Result
    max_severity: Severity | None
    rectified: bool | None


class PublicInstitution(BaseModel):
    """What parents see: never staff, ID numbers or phone numbers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "小太阳托育园",
                    "form": "standalone",
                    "nature": "for_profit",
                    "region_code": "371602001",
                    "address": "滨城区黄河五路 100 号",
                    "lat": 37.43,
                    "lon": 118.02,
                    "distance_m": 850,
                    "filing_number": "托备-371602-2026-0001",
                    "demonstration": False,
                    "service_modes": ["full_day"],
                    "fees": [{"service_mode": "full_day", "amount": "1800.00", "period": "month"}],
                    "capacity": [
                        {"age_group": "toddler", "capacity": 20, "enrolled": 12, "vacancy": 8}
                    ],
                    "latest_inspection": {
                        "inspected_on": "2026-11-20",
                        "level": "county",
                        "result": "pass",
                        "max_severity": None,
                        "rectified": None,
                    },
                }
            ]
        }
    )

    id: int
    name: str
    form: Form
    nature: Nature
    region_code: str
    address: str
    lat: float
    lon: float
    distance_m: int
    filing_number: str | None
    demonstration: bool
    service_modes: list[ServiceMode]
    fees: list[FeeOut]
    capacity: list[CapacityOut]
    latest_inspection: LatestInspection | None


# --- statistics ------------------------------------------------------------------------------


class TargetProgress(BaseModel):
    year: int
    metric: str
    minimum: int
    actual: int
    met: bool


class CountyStats(BaseModel):
    county_code: str
    name: str
    institutions: int
    approved: int
    places: int
    enrolled: int
    well_run: int
    demonstration: int
    targets: list[TargetProgress]


class CityStats(BaseModel):
    city_code: str
    institutions: int
    approved: int
    well_run: int
    demonstration: int
    targets: list[TargetProgress]


class StatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "definitions": {
                        "well_run": "approved filing, credit rating A or B, no open ban flag",
                        "demonstration": "approved filing marked demonstration by the commission",
                    },
                    "city": {
                        "city_code": "3716",
                        "institutions": 21,
                        "approved": 14,
                        "well_run": 12,
                        "demonstration": 4,
                        "targets": [
                            {
                                "year": 2023,
                                "metric": "demonstration",
                                "minimum": 3,
                                "actual": 4,
                                "met": True,
                            }
                        ],
                    },
                    "counties": [],
                }
            ]
        }
    )

    definitions: dict[str, str]
    city: CityStats
    counties: list[CountyStats]
