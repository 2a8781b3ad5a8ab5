"""Benefit policy parameters (待遇政策): every figure the calculator uses, as versioned data.

A version is stored as JSON in ``benefit_policies.parameters``; changing any figure is a new
version with an ``effective_from`` date, never a code change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, Strict, model_validator

from shared.schemas import Choice, DecimalText, StrictModel

Rate = Annotated[DecimalText, Field(ge=0, le=1, description="A share, e.g. 0.85")]
Amount = Annotated[DecimalText, Field(ge=0, le=100_000_000, description="Yuan")]
Tier = Annotated[int, Strict(False), Field(ge=1, le=3)]
"""A hospital tier, a key of a JSON object (so a string there: "1")."""


class VisitType(Choice):
    general_outpatient = "general_outpatient"
    two_disease = "two_disease"
    chronic = "chronic"
    inpatient = "inpatient"


class Scheme(Choice):
    employee = "employee"
    resident = "resident"


class _Frozen(StrictModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Segment(_Frozen):
    """A band of the base paid at one rate; `up_to` is the band's upper end within the base."""

    up_to: Amount | None = None
    rate: Rate


class TwoDiseaseRules(_Frozen):
    """两病门诊用药: the cap depends on which of the two diseases the person has."""

    rate: Rate
    deductible: Amount
    annual_cap_hypertension: Amount
    annual_cap_diabetes: Amount
    annual_cap_both: Amount


class LargeAmountRules(_Frozen):
    """大额医疗补助: a share of the base the basic cap left unpaid."""

    rate: Rate
    annual_cap: Amount


class CriticalIllnessRules(_Frozen):
    """大病保险: pays on the year's running in-scope self-pay above a threshold."""

    threshold: Amount
    first_band: Amount
    first_rate: Rate
    rest_rate: Rate
    annual_cap: Amount
    poverty_threshold: Amount
    poverty_first_rate: Rate
    poverty_rest_rate: Rate


class MedicalAssistanceRules(_Frozen):
    """医疗救助 for poverty-registered persons."""

    rate: Rate
    annual_cap: Amount


class SchemeRules(_Frozen):
    general_outpatient_rate: Rate
    general_outpatient_annual_cap: Amount
    general_outpatient_deductible: Amount
    chronic_rate: Rate
    chronic_deductible: Amount
    chronic_cap_per_disease: Amount | None = Field(
        description="None: chronic visits share the basic (inpatient) annual cap"
    )
    inpatient_segments: dict[Tier, list[Segment]] = Field(description="Per tier 1, 2, 3")
    inpatient_deductible: dict[Tier, Amount] = Field(description="Per admission, per tier")
    deductible_free_from_admission: int | None = Field(
        ge=1, le=1000, description="From this admission of the year on, no deductible (None: never)"
    )
    basic_annual_cap: Amount
    retiree_bonus: Rate
    retiree_bonus_visit_types: list[VisitType] = Field(max_length=4)
    max_rate: Rate
    two_disease: TwoDiseaseRules | None
    large_amount_subsidy: LargeAmountRules | None
    critical_illness: CriticalIllnessRules | None

    @model_validator(mode="after")
    def _every_tier(self) -> SchemeRules:
        for tier in (1, 2, 3):
            segments = self.inpatient_segments.get(tier)
            if not segments or tier not in self.inpatient_deductible:
                raise ValueError(f"tier {tier} needs inpatient segments and a deductible")
            if segments[-1].up_to is not None:
                raise ValueError(f"the last segment of tier {tier} must be open (up_to null)")
            bounds = [s.up_to for s in segments[:-1]]
            if any(b is None for b in bounds) or bounds != sorted(bounds):  # type: ignore[type-var]
                raise ValueError(f"segments of tier {tier} must rise")
        return self


class PolicyParameters(_Frozen):
    class_b_prior_self_pay: Rate
    offsite_prior_self_pay: Rate
    employee: SchemeRules
    resident: SchemeRules
    medical_assistance: MedicalAssistanceRules

    def rules(self, scheme: Scheme) -> SchemeRules:
        return self.employee if scheme is Scheme.employee else self.resident


def _d(value: str) -> Decimal:
    return Decimal(value)


def _flat(rate: str) -> list[Segment]:
    return [Segment(rate=_d(rate))]


BZ_2022 = PolicyParameters(
    class_b_prior_self_pay=_d("0.10"),  # assumed
    offsite_prior_self_pay=_d("0.05"),  # seed
    employee=SchemeRules(
        general_outpatient_rate=_d("0.65"),  # seed
        general_outpatient_annual_cap=_d("3000"),  # seed
        general_outpatient_deductible=_d("0"),  # assumed
        chronic_rate=_d("0.85"),  # seed
        chronic_deductible=_d("0"),  # assumed
        chronic_cap_per_disease=None,  # seed: shares the inpatient annual cap
        inpatient_segments={
            1: _flat("0.92"),  # assumed
            2: _flat("0.90"),  # seed
            # seed: tier 3, the part of the base above 10,000 gets +5 points
            3: [Segment(up_to=_d("10000"), rate=_d("0.85")), Segment(rate=_d("0.90"))],
        },
        inpatient_deductible={1: _d("200"), 2: _d("500"), 3: _d("800")},  # assumed
        deductible_free_from_admission=None,
        basic_annual_cap=_d("300000"),  # assumed
        retiree_bonus=_d("0.05"),  # seed
        retiree_bonus_visit_types=[VisitType.inpatient, VisitType.chronic],
        max_rate=_d("0.95"),  # seed: "retirees reach 95%"
        two_disease=None,
        large_amount_subsidy=LargeAmountRules(rate=_d("0.80"), annual_cap=_d("800000")),  # seed
        critical_illness=None,
    ),
    resident=SchemeRules(
        general_outpatient_rate=_d("0.60"),  # seed
        general_outpatient_annual_cap=_d("400"),  # seed
        general_outpatient_deductible=_d("0"),  # assumed
        chronic_rate=_d("0.65"),  # seed
        chronic_deductible=_d("0"),  # assumed
        chronic_cap_per_disease=_d("3000"),  # seed
        inpatient_segments={1: _flat("0.90"), 2: _flat("0.75"), 3: _flat("0.60")},  # seed
        inpatient_deductible={1: _d("200"), 2: _d("500"), 3: _d("1000")},  # assumed
        deductible_free_from_admission=3,  # seed
        basic_annual_cap=_d("200000"),  # seed
        retiree_bonus=_d("0"),
        retiree_bonus_visit_types=[],
        max_rate=_d("1"),
        two_disease=TwoDiseaseRules(  # seed
            rate=_d("0.60"),
            deductible=_d("0"),
            annual_cap_hypertension=_d("300"),
            annual_cap_diabetes=_d("400"),
            annual_cap_both=_d("600"),
        ),
        large_amount_subsidy=None,
        critical_illness=CriticalIllnessRules(  # all assumed
            threshold=_d("15000"),
            first_band=_d("100000"),
            first_rate=_d("0.60"),
            rest_rate=_d("0.70"),
            annual_cap=_d("400000"),
            poverty_threshold=_d("7500"),
            poverty_first_rate=_d("0.65"),
            poverty_rest_rate=_d("0.75"),
        ),
    ),
    medical_assistance=MedicalAssistanceRules(rate=_d("0.70"), annual_cap=_d("50000")),  # assumed
)
"""The default version "BZ-2022": every figure of DOMAIN.md 3.3, seed and assumed alike."""
