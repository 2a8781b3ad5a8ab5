"""Request and response bodies of the enrollment API."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Money
from shared.personal_data import PERSON
from shared.schemas import Choice, Day, Id, StrictModel, Text
from shared.validators import USCC, VOUCHER_CODE_PATTERN, IdNumber, RegionCode


def _example(example: dict[str, Any], from_attributes: bool = False) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]}, from_attributes=from_attributes)


class Scheme(Choice):
    employee = "employee"
    resident = "resident"


class QualificationKind(Choice):
    chronic = "chronic"
    two_disease = "two_disease"


class FilingKind(Choice):
    long_term = "long_term"
    referral = "referral"
    emergency = "emergency"


TWO_DISEASES = ("hypertension", "diabetes")

# --- persons ---------------------------------------------------------------------------------


class PersonCreate(StrictModel):
    model_config = _example(
        {
            "id_number": "371602198001010013",
            "name": "张伟",
            "region_code": "371602001",
            "phone": "13800000000",
            "poverty": False,
        }
    )

    id_number: IdNumber
    name: Text = Field(min_length=1, max_length=100)
    region_code: RegionCode
    phone: str | None = Field(None, pattern=r"^\+?[0-9\-]{5,20}$")
    poverty: bool = False


class PersonOut(BaseModel):
    model_config = _example(
        {
            "person_id": 1,
            "id_number": "371602198001010013",
            "name": "张伟",
            "birth_date": "1980-01-01",
            "region_code": "371602001",
            "phone": "13800000000",
            "poverty": False,
        },
        from_attributes=True,
    )

    person_id: int
    id_number: str = Field(description=PERSON.description)
    name: str
    birth_date: date
    region_code: str
    phone: str | None = Field(description=PERSON.description)
    poverty: bool


class PersonListItem(BaseModel):
    """A person in a list: the ID number is masked."""

    model_config = _example(
        {
            "person_id": 1,
            "id_number_masked": "371602********0013",
            "name": "张伟",
            "region_code": "371602001",
            "poverty": False,
        }
    )

    person_id: int
    id_number_masked: str
    name: str
    region_code: str
    poverty: bool


# --- coverage --------------------------------------------------------------------------------


class CoveragePeriodCreate(StrictModel):
    model_config = _example(
        {
            "scheme": "employee",
            "start_date": "2024-01-01",
            "end_date": None,
            "retired": False,
            "employer_uscc": "91350100M000100Y43",
        }
    )

    scheme: Scheme
    start_date: Day
    end_date: Day | None = Field(None, description="Last covered day (inclusive); none: open")
    retired: bool = False
    employer_uscc: USCC | None = None


class CoveragePeriodEnd(StrictModel):
    model_config = _example({"end_date": "2024-12-31"})

    end_date: Day = Field(description="The last covered day (inclusive)")


class CoveragePeriodOut(BaseModel):
    model_config = _example(
        {
            "coverage_id": 7,
            "person_id": 1,
            "scheme": "employee",
            "start_date": "2024-01-01",
            "end_date": None,
            "retired": False,
            "employer_uscc": "91350100M000100Y43",
        }
    )

    coverage_id: int
    person_id: int
    scheme: Scheme
    start_date: date
    end_date: date | None
    retired: bool
    employer_uscc: str | None


# --- qualifications and filings --------------------------------------------------------------


class QualificationCreate(StrictModel):
    model_config = _example(
        {
            "kind": "two_disease",
            "disease_code": "hypertension",
            "start_date": "2024-01-01",
            "end_date": "2025-12-31",
        }
    )

    kind: QualificationKind
    disease_code: str = Field(
        pattern=r"^[A-Za-z0-9._\-]{1,40}$",
        description="For two_disease: hypertension or diabetes; for chronic: the catalog code",
    )
    start_date: Day
    end_date: Day | None = None


class Cancellation(StrictModel):
    model_config = _example({"reason": "filed by mistake"})

    reason: Text | None = Field(None, max_length=500)


class QualificationOut(BaseModel):
    model_config = _example(
        {
            "qualification_id": 3,
            "person_id": 1,
            "kind": "two_disease",
            "disease_code": "hypertension",
            "start_date": "2024-01-01",
            "end_date": "2025-12-31",
            "cancelled_at": None,
            "cancel_reason": None,
        }
    )

    qualification_id: int
    person_id: int
    kind: QualificationKind
    disease_code: str
    start_date: date
    end_date: date | None
    cancelled_at: datetime | None
    cancel_reason: str | None


class OffsiteFilingCreate(StrictModel):
    model_config = _example(
        {
            "kind": "long_term",
            "destination_region": "110105",
            "start_date": "2024-03-01",
            "end_date": "2025-02-28",
        }
    )

    kind: FilingKind
    destination_region: RegionCode = Field(description="A region outside the city (not 3716…)")
    start_date: Day
    end_date: Day


class OffsiteFilingOut(BaseModel):
    model_config = _example(
        {
            "filing_id": 5,
            "person_id": 1,
            "kind": "long_term",
            "destination_region": "110105",
            "start_date": "2024-03-01",
            "end_date": "2025-02-28",
            "cancelled_at": None,
            "cancel_reason": None,
        }
    )

    filing_id: int
    person_id: int
    kind: FilingKind
    destination_region: str
    start_date: date
    end_date: date
    cancelled_at: datetime | None
    cancel_reason: str | None


# --- eligibility -----------------------------------------------------------------------------


class EligibleQualification(BaseModel):
    qualification_id: int
    kind: QualificationKind
    disease_code: str
    start_date: date
    end_date: date | None


class EligibleFiling(BaseModel):
    filing_id: int
    kind: FilingKind
    destination_region: str
    start_date: date
    end_date: date


class Eligibility(BaseModel):
    """What a settlement needs to know about a person on one day."""

    model_config = _example(
        {
            "person_id": 1,
            "date": "2024-06-01",
            "eligible": True,
            "scheme": "employee",
            "retired": False,
            "poverty": False,
            "qualifications": [
                {
                    "qualification_id": 3,
                    "kind": "two_disease",
                    "disease_code": "hypertension",
                    "start_date": "2024-01-01",
                    "end_date": "2025-12-31",
                }
            ],
            "offsite_filings": [],
        }
    )

    person_id: int
    date: dt.date
    eligible: bool = Field(description="A coverage period contains the date")
    scheme: Scheme | None
    retired: bool
    poverty: bool
    qualifications: list[EligibleQualification]
    offsite_filings: list[EligibleFiling]


MAX_ELIGIBILITY_BATCH = 100


class EligibilityQuery(StrictModel):
    person_id: Id
    date: Day
    request_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._:\-]{1,128}$",
        description=(
            "The request this question belongs to, logged with the read in the access log "
            "(a service asking on behalf of many requests at once); default the call's own"
        ),
    )


class EligibilityBatchRequest(StrictModel):
    """Many eligibility questions in one call (a settlement service asking for its queue)."""

    model_config = _example({"items": [{"person_id": 1, "date": "2024-06-01"}]})

    items: list[EligibilityQuery] = Field(min_length=1, max_length=MAX_ELIGIBILITY_BATCH)


class EligibilityAnswer(BaseModel):
    """One question's answer: `status` 200 with the document, or 404 for no such person
    (or none this client may see)."""

    status: int = Field(examples=[200, 404])
    eligibility: Eligibility | None = None


class EligibilityBatch(BaseModel):
    model_config = _example(
        {
            "items": [
                {
                    "status": 200,
                    "eligibility": {
                        "person_id": 1,
                        "date": "2024-06-01",
                        "eligible": True,
                        "scheme": "employee",
                        "retired": False,
                        "poverty": False,
                        "qualifications": [],
                        "offsite_filings": [],
                    },
                },
                {"status": 404, "eligibility": None},
            ]
        }
    )

    items: list[EligibilityAnswer] = Field(description="In the order asked")


# --- voucher codes ---------------------------------------------------------------------------


class VoucherCode(BaseModel):
    model_config = _example(
        {
            "code": "YBAEAAAAAAAFWZK6QBEBAMVSP4QHNKHQFY7KBIGXPWPUJQWHW3",
            "expires_at": "2026-11-23T12:02:00Z",
        }
    )

    code: str
    expires_at: datetime


class VoucherResolve(StrictModel):
    model_config = _example({"code": "YBAEAAAAAAAFWZK6QBEBAMVSP4QHNKHQFY7KBIGXPWPUJQWHW3"})

    code: str = Field(pattern=VOUCHER_CODE_PATTERN)


class VoucherResolved(BaseModel):
    model_config = _example(
        {
            "person_id": 1,
            "expires_at": "2026-11-23T12:02:00Z",
            "name": "张伟",
            "id_number_masked": "371602********0013",
        }
    )

    person_id: int
    expires_at: datetime
    name: str
    id_number_masked: str


# --- employers -------------------------------------------------------------------------------


class EmployerCreate(StrictModel):
    model_config = _example(
        {"uscc": "91350100M000100Y43", "name": "滨州某某有限公司", "region_code": "371602"}
    )

    uscc: USCC
    name: Text = Field(min_length=1, max_length=200)
    region_code: RegionCode


class EmployerOut(BaseModel):
    model_config = _example(
        {"uscc": "91350100M000100Y43", "name": "滨州某某有限公司", "region_code": "371602"}
    )

    uscc: str
    name: str
    region_code: str


class StaffAction(Choice):
    add = "add"
    remove = "remove"


class StaffChange(StrictModel):
    """One row of a staff change (人员增减): `add` from `date`, `remove` after `date`."""

    action: StaffAction
    id_number: IdNumber
    date: Day = Field(description="add: first covered day; remove: last covered day")
    retired: bool = False


class StaffChanges(StrictModel):
    model_config = _example(
        {
            "changes": [
                {"action": "add", "id_number": "371602198001010013", "date": "2024-07-01"},
                {"action": "remove", "id_number": "371602195503150020", "date": "2024-06-30"},
            ]
        }
    )

    changes: list[StaffChange] = Field(min_length=1, max_length=5000)


class StaffChangeResult(BaseModel):
    model_config = _example({"uscc": "91350100M000100Y43", "added": 1, "removed": 1})

    uscc: str
    added: int
    removed: int


# --- access log ------------------------------------------------------------------------------


class AccessLogItem(BaseModel):
    model_config = _example(
        {
            "entry_id": 10,
            "person_id": 1,
            "client_id": "c_9f2",
            "client_kind": "institution",
            "client_bound": "H37160200001",
            "action": "eligibility.read",
            "request_id": "0b6c…",
            "at": "2026-11-23T12:00:00Z",
        }
    )

    entry_id: int
    person_id: int
    client_id: str
    client_kind: str
    client_bound: str | None
    action: str
    request_id: str | None
    at: datetime


# --- contributions and transfers -------------------------------------------------------------


class Payer(Choice):
    person = "person"
    employer = "employer"
    government = "government"


class ContributionCreate(StrictModel):
    model_config = _example(
        {
            "year": 2024,
            "scheme": "resident",
            "payer": "person",
            "amount": "380.00",
            "paid_on": "2023-12-15",
        }
    )

    year: int = Field(ge=1998, le=2100)
    scheme: Scheme
    payer: Payer
    amount: Money = Field(gt=0, le=1_000_000)
    paid_on: Day


class ContributionOut(BaseModel):
    model_config = _example(
        {
            "contribution_id": 9,
            "person_id": 1,
            "year": 2024,
            "scheme": "resident",
            "payer": "government",
            "amount": "334.38",
            "paid_on": "2024-01-15",
            "batch_id": 2,
        }
    )

    contribution_id: int
    person_id: int
    year: int
    scheme: Scheme
    payer: Payer
    amount: Money
    paid_on: date
    batch_id: int | None


class GovernmentBatchCreate(StrictModel):
    """财政代缴: one contribution for every poverty person not yet paid for in `year`."""

    model_config = _example({"year": 2024, "amount_per_person": "334.38", "paid_on": "2024-01-15"})

    year: int = Field(ge=1998, le=2100)
    amount_per_person: Money = Field(gt=0, le=1_000_000)
    paid_on: Day


class GovernmentBatchOut(BaseModel):
    model_config = _example(
        {
            "batch_id": 2,
            "year": 2024,
            "amount_per_person": "334.38",
            "persons": 17495,
            "total": "5849978.10",
        }
    )

    batch_id: int
    year: int
    amount_per_person: Money
    persons: int
    total: Money


class TransferDirection(Choice):
    into = "in"
    out = "out"


class TransferCreate(StrictModel):
    model_config = _example(
        {
            "direction": "out",
            "other_region": "370102",
            "effective_date": "2024-09-01",
            "reason": "moved to Jinan for work",
        }
    )

    direction: TransferDirection
    other_region: RegionCode = Field(description="Where from (in) or to (out); outside the city")
    effective_date: Day
    reason: Text | None = Field(None, max_length=500)


class TransferReject(StrictModel):
    model_config = _example({"reason": "contributions in the other city not confirmed"})

    reason: Text = Field(min_length=1, max_length=500)


class TransferOut(BaseModel):
    model_config = _example(
        {
            "transfer_id": 4,
            "person_id": 1,
            "direction": "out",
            "other_region": "370102",
            "effective_date": "2024-09-01",
            "state": "requested",
            "reason": "moved to Jinan for work",
        }
    )

    transfer_id: int
    person_id: int
    direction: TransferDirection
    other_region: str
    effective_date: date
    state: str
    reason: str | None
