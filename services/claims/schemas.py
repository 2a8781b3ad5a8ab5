"""Request and response bodies of the claims API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.claims.domain.calculator import Category
from services.claims.domain.policy import BZ_2022, PolicyParameters, VisitType
from services.claims.domain.supervision import FlagKind
from shared.money import Money
from shared.schemas import Day, DecimalText, Id, StrictModel, Text
from shared.validators import VOUCHER_CODE_PATTERN

InstitutionCode = Annotated[
    str, Field(pattern=r"^[HP]\d{11}$", examples=["H37160200001"], description="H or P code")
]


# --- policies -----------------------------------------------------------------------------------


class PolicyOut(BaseModel):
    """A benefit policy version, in force from `effective_from` until the next one."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "BZ-2022",
                    "effective_from": "2022-01-01",
                    "description": "Binzhou benefit policy 2022",
                    "parameters": BZ_2022.model_dump(mode="json"),
                }
            ]
        },
    )

    code: str
    effective_from: date
    description: str
    parameters: PolicyParameters


class PolicyCreate(StrictModel):
    """A new version: every figure, in force from `effective_from` until the next version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "BZ-2031",
                    "effective_from": "2031-01-01",
                    "description": "The 2022 figures, carried into 2031",
                    "parameters": BZ_2022.model_dump(mode="json"),
                }
            ]
        }
    )

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    effective_from: Day = Field(description="After today: a policy never changes the past")
    description: Text = Field(max_length=500)
    parameters: PolicyParameters


# --- settlements --------------------------------------------------------------------------------


class ItemIn(StrictModel):
    code: Text = Field(min_length=1, max_length=40, examples=["XA0001"])
    name: Text = Field(min_length=1, max_length=200, examples=["阿托伐他汀钙片"])
    category: Category
    quantity: DecimalText = Field(
        gt=0, le=100000, decimal_places=3, description="Up to 100000, three places at most"
    )
    unit_price: Money = Field(ge=0, le=10_000_000, description="Yuan, up to 10000000")


class SettlementRequest(StrictModel):
    """One visit: the person (or the voucher code they showed), where, what kind, what."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": 1,
                    "institution_code": "H37160200001",
                    "visit_type": "inpatient",
                    "service_date": "2024-06-03",
                    "items": [
                        {
                            "code": "XA0001",
                            "name": "阿托伐他汀钙片",
                            "category": "A",
                            "quantity": "2",
                            "unit_price": "12.50",
                        },
                        {
                            "code": "F0001",
                            "name": "床位费",
                            "category": "B",
                            "quantity": "5",
                            "unit_price": "60.00",
                        },
                    ],
                }
            ]
        }
    )

    person_id: Id | None = None
    voucher_code: str | None = Field(default=None, pattern=VOUCHER_CODE_PATTERN)
    institution_code: InstitutionCode
    visit_type: VisitType
    service_date: Day
    disease_code: Text | None = Field(default=None, min_length=1, max_length=40)
    discharge_date: Day | None = Field(
        default=None, description="Inpatient only: the last day of the stay (overlap checks)"
    )
    prescription_id: Text | None = Field(
        default=None,
        max_length=60,
        description="The prescription a pharmacy dispensed prescription-only drugs against",
    )
    items: list[ItemIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_person(self) -> SettlementRequest:
        if (self.person_id is None) == (self.voucher_code is None):
            raise ValueError("give exactly one of person_id and voucher_code")
        if self.discharge_date is not None and (
            self.visit_type is not VisitType.inpatient or self.discharge_date < self.service_date
        ):
            raise ValueError("discharge_date is for inpatient stays, on or after service_date")
        return self


class PoolOut(BaseModel):
    pool: str = Field(examples=["employee_basic"])
    used: Money
    annual_cap: Money | None = None
    remaining: Money | None = None


class AccumulatorsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": 1,
                    "year": 2024,
                    "inpatient_admissions": 1,
                    "pools": [
                        {
                            "pool": "employee_basic",
                            "used": "9000.00",
                            "annual_cap": "300000.00",
                            "remaining": "291000.00",
                        }
                    ],
                }
            ]
        }
    )

    person_id: int
    year: int
    inpatient_admissions: int
    pools: list[PoolOut]


class ExplanationOfBenefits(BaseModel):
    """The explanation of benefits (结算单): every layer, and the accumulators after."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "settlement_id": 42,
                    "status": "settled",
                    "person_id": 1,
                    "institution_code": "H37160200001",
                    "visit_type": "inpatient",
                    "service_date": "2024-06-03",
                    "policy_code": "BZ-2022",
                    "total": "10500.00",
                    "out_of_scope": "0.00",
                    "policy_scope": "10500.00",
                    "deductible": "500.00",
                    "basic_fund": "9000.00",
                    "large_amount_subsidy": "0.00",
                    "critical_illness": "0.00",
                    "medical_assistance": "0.00",
                    "personal_pay": "1500.00",
                    "accumulators": {
                        "person_id": 1,
                        "year": 2024,
                        "inpatient_admissions": 1,
                        "pools": [
                            {
                                "pool": "employee_basic",
                                "used": "9000.00",
                                "annual_cap": "300000.00",
                                "remaining": "291000.00",
                            }
                        ],
                    },
                }
            ]
        }
    )

    settlement_id: int | None
    status: Literal["preview", "settled", "reversed"]
    person_id: int
    institution_code: str
    visit_type: VisitType
    service_date: date
    policy_code: str
    total: Money
    out_of_scope: Money
    policy_scope: Money
    deductible: Money
    basic_fund: Money
    large_amount_subsidy: Money
    critical_illness: Money
    medical_assistance: Money
    personal_pay: Money
    accumulators: AccumulatorsOut | None = Field(
        default=None, description="After this settlement (absent in lists)"
    )


# --- catalog ------------------------------------------------------------------------------------


DRUG_EXAMPLE: dict[str, Any] = {
    "code": "XA0001",
    "generic_name": "阿托伐他汀钙片",
    "pinyin_initials": "atftgp",
    "dosage_form": "片剂",
    "specification": "20mg*7片",
    "manufacturer": "北京嘉林药业股份有限公司",
    "category": "A",
    "procured": True,
    "procurement_batch": 3,
    "original_price": "27.50",
    "winning_bid_price": "2.42",
    "cut_percent": "91.20",
    "payment_standard": "2.42",
    "prescription_only": True,
    "daily_limit": "2.00",
}


class DrugOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [DRUG_EXAMPLE]})

    code: str
    generic_name: str
    pinyin_initials: str
    dosage_form: str
    specification: str
    manufacturer: str
    category: Category
    procured: bool
    procurement_batch: int | None
    original_price: Money | None
    winning_bid_price: Money | None
    cut_percent: DecimalText | None = Field(description="Price cut of the winning bid, in percent")
    payment_standard: Money | None = Field(description="医保支付标准")
    prescription_only: bool
    daily_limit: DecimalText | None = Field(description="Most units a person may get per day")


# --- reimbursements -----------------------------------------------------------------------------


class ReceiptIn(StrictModel):
    number: Text = Field(min_length=1, max_length=60, examples=["37160224000123"])
    amount: Money = Field(gt=0, le=10_000_000)
    issued_on: Day | None = None


class ReimbursementCreate(StrictModel):
    """Care paid out of pocket, with its receipts (发票), for review."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": 1,
                    "institution_code": "H11010500003",
                    "visit_type": "inpatient",
                    "service_date": "2025-09-10",
                    "items": [
                        {
                            "code": "F0001",
                            "name": "住院费用",
                            "category": "A",
                            "quantity": "1",
                            "unit_price": "10500.00",
                        }
                    ],
                    "receipts": [{"number": "11010524000456", "amount": "10500.00"}],
                }
            ]
        }
    )

    person_id: Id
    institution_code: InstitutionCode
    visit_type: VisitType
    service_date: Day
    disease_code: Text | None = Field(default=None, min_length=1, max_length=40)
    items: list[ItemIn] = Field(min_length=1, max_length=500)
    receipts: list[ReceiptIn] = Field(min_length=1, max_length=100)
    received_on: Day | None = Field(
        default=None,
        description="Staff only: the day a paper claim was received (default today, Beijing time)",
    )


class ReimbursementOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 8,
                    "person_id": 1,
                    "institution_code": "H11010500003",
                    "visit_type": "inpatient",
                    "service_date": "2025-09-10",
                    "disease_code": None,
                    "status": "submitted",
                    "total": "10500.00",
                    "receipts": [
                        {"number": "11010524000456", "amount": "10500.00", "issued_on": None}
                    ],
                    "submitted_on": "2025-09-15",
                    "deadline": "2025-09-29",
                    "deadline_provisional": False,
                    "overdue": False,
                    "reason": None,
                    "decision": None,
                    "paid": False,
                }
            ]
        }
    )

    id: int
    person_id: int
    institution_code: str
    visit_type: VisitType
    service_date: date
    disease_code: str | None
    status: Literal["submitted", "approved", "rejected", "paid"]
    total: Money
    receipts: list[ReceiptIn]
    submitted_on: date
    deadline: date = Field(description="10 working days after submission (Chinese calendar)")
    deadline_provisional: bool = Field(
        description="The deadline reaches into a year whose holidays are not published yet"
    )
    overdue: bool
    reason: str | None
    decision: ExplanationOfBenefits | None
    paid: bool


class Rejection(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "发票与费用清单不符"}]})

    reason: Text = Field(min_length=1, max_length=500, examples=["发票与费用清单不符"])


class CalendarYearIn(StrictModel):
    """A year's holidays and make-up workdays (调休上班日) as the State Council published them."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"holidays": ["2027-01-01"], "workdays": ["2027-02-06"]}]}
    )

    holidays: list[Day] = Field(max_length=366)
    workdays: list[Day] = Field(max_length=366)


class CalendarYearOut(CalendarYearIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"year": 2027, "holidays": ["2027-01-01"], "workdays": ["2027-02-06"]}]
        }
    )

    year: int


# --- fund supervision ---------------------------------------------------------------------------


class FlagOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "settlement_id": 42,
                    "service_date": "2024-06-03",
                    "person_id": 1,
                    "institution_code": "H37160200001",
                    "kind": "duplicate_items",
                    "detail": "XA0001 billed on 2024-06-03 in settlement 41 too",
                    "case_id": None,
                    "created_at": "2024-06-03T10:00:00Z",
                }
            ]
        },
    )

    id: int
    settlement_id: int
    service_date: date
    person_id: int
    institution_code: str
    kind: FlagKind
    detail: str
    case_id: int | None
    created_at: datetime


class CaseCreate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "institution_code": "H37160200001",
                    "flag_ids": [1, 2],
                    "findings": "同日重复收费",
                }
            ]
        }
    )

    institution_code: InstitutionCode
    flag_ids: list[Id] = Field(default=[], max_length=1000)
    findings: Text = Field(default="", max_length=5000)


class CaseUpdate(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"findings": "同日重复收费,已追回", "recovered": "1250.00", "status": "closed"}
            ]
        }
    )

    findings: Text | None = Field(default=None, max_length=5000)
    fine: Money | None = Field(default=None, ge=0, le=1_000_000_000)
    recovered: Money | None = Field(default=None, ge=0, le=1_000_000_000)
    status: Literal["open", "closed"] | None = None
    flag_ids: list[Id] = Field(default=[], max_length=1000, description="Flags to add")


class CaseOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "institution_code": "H37160200001",
                    "status": "open",
                    "findings": "同日重复收费",
                    "fine": "0.00",
                    "recovered": "0.00",
                    "opened_at": "2024-07-01T09:00:00Z",
                    "closed_at": None,
                    "flag_ids": [5],
                }
            ]
        },
    )

    id: int
    institution_code: str
    status: Literal["open", "closed"]
    findings: str
    fine: Money
    recovered: Money
    opened_at: datetime
    closed_at: datetime | None
    flag_ids: list[int] = []


class FundTotal(BaseModel):
    """What each fund layer paid in one month, settlements not reversed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2024-06",
                    "settlements": 1204,
                    "total": "1520300.00",
                    "basic_fund": "1102000.50",
                    "large_amount_subsidy": "20400.00",
                    "critical_illness": "15000.00",
                    "medical_assistance": "3100.00",
                    "personal_pay": "379799.50",
                }
            ]
        }
    )

    month: str = Field(examples=["2024-06"])
    settlements: int
    total: Money
    basic_fund: Money
    large_amount_subsidy: Money
    critical_illness: Money
    medical_assistance: Money
    personal_pay: Money


class RecheckOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"person_id": 1, "year": 2024, "days_checked": 12, "flags_raised": 1}]
        }
    )

    person_id: int
    year: int
    days_checked: int
    flags_raised: int


class DrugLookup(StrictModel):
    """Many codes at once: a pharmacy's inventory upload checks thousands in one call."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"codes": ["XA0001", "XA0002"]}]})

    codes: list[Annotated[Text, Field(min_length=1, max_length=40)]] = Field(max_length=10_000)


class DrugLookupOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"found": [DRUG_EXAMPLE], "missing": ["XA9999"]}]}
    )

    found: list[DrugOut]
    missing: list[str] = Field(description="Codes not in the catalog")
