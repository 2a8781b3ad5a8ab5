"""The calculator against hand-worked examples, one or more per row of DOMAIN.md 3.3's table.

Each case writes its arithmetic out; the expected figures are the fen-exact answer of that
arithmetic under ROUND_HALF_UP once per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.claims.domain.calculator import (
    Category,
    DomainError,
    Institution,
    Line,
    OffsiteFiling,
    Patient,
    Pool,
    Qualification,
    Visit,
    apply,
    calculate,
)
from services.claims.domain.policy import BZ_2022, Scheme, VisitType

DAY = date(2024, 6, 3)
D = Decimal


def hospital(tier: int = 2, offsite: bool = False, region: str = "371602") -> Institution:
    return Institution("H37160200001", "hospital", tier, region, offsite)


PHARMACY = Institution("P37160200007", "pharmacy", None, "371602", False)


def lines(a: str = "0", b: str = "0", c: str = "0") -> tuple[Line, ...]:
    out = []
    for category, amount in ((Category.A, a), (Category.B, b), (Category.C, c)):
        if D(amount):
            out.append(Line(f"X{category}", category, D("1"), D(amount)))
    return tuple(out)


def quals(*pairs: tuple[str, str]) -> tuple[Qualification, ...]:
    return tuple(Qualification(kind, code, date(2024, 1, 1), None) for kind, code in pairs)


@dataclass
class Case:
    name: str
    scheme: Scheme
    visit_type: VisitType
    items: tuple[Line, ...]
    expect: dict[str, str]
    institution: Institution = field(default_factory=hospital)
    retired: bool = False
    poverty: bool = False
    qualifications: tuple[Qualification, ...] = ()
    filings: tuple[OffsiteFiling, ...] = ()
    disease_code: str | None = None
    used: dict[str, str] = field(default_factory=dict)


CASES = [
    # --- general outpatient: employee 65% / 3,000; resident 60% / 400; no deductible ---
    Case(
        "employee outpatient, A+B+C",
        Scheme.employee,
        VisitType.general_outpatient,
        lines(a="50.00", b="100.00", c="30.00"),
        # total 180; S = 50 + 100 × 0.9 = 140; out of scope 40; fund 140 × 0.65 = 91.00
        {
            "total": "180.00",
            "policy_scope": "140.00",
            "out_of_scope": "40.00",
            "deductible": "0.00",
            "basic_fund": "91.00",
            "personal_pay": "89.00",
        },
        institution=PHARMACY,
    ),
    Case(
        "employee outpatient, cap 3,000 nearly used",
        Scheme.employee,
        VisitType.general_outpatient,
        lines(a="100.00"),
        # fund 100 × 0.65 = 65; cap left 3,000 − 2,990 = 10 → 10.00
        {"basic_fund": "10.00", "personal_pay": "90.00"},
        used={"employee_general_outpatient": "2990.00"},
    ),
    Case(
        "resident outpatient, B rounding",
        Scheme.resident,
        VisitType.general_outpatient,
        lines(b="33.35"),
        # S = 33.35 × 0.9 = 30.015 → 30.02; fund 30.02 × 0.6 = 18.012 → 18.01
        {
            "total": "33.35",
            "policy_scope": "30.02",
            "out_of_scope": "3.33",
            "basic_fund": "18.01",
            "personal_pay": "15.34",
        },
    ),
    Case(
        "resident outpatient, cap 400",
        Scheme.resident,
        VisitType.general_outpatient,
        lines(a="100.00"),
        # fund 60; cap left 400 − 380 = 20
        {"basic_fund": "20.00", "personal_pay": "80.00"},
        used={"resident_general_outpatient": "380.00"},
    ),
    # --- two-disease: 60%, no deductible, caps 300 / 400 / 600 ---
    Case(
        "two-disease hypertension only, cap 300",
        Scheme.resident,
        VisitType.two_disease,
        lines(a="600.00"),
        # fund 600 × 0.6 = 360 > cap 300 → 300
        {"deductible": "0.00", "basic_fund": "300.00", "personal_pay": "300.00"},
        qualifications=quals(("two_disease", "hypertension")),
    ),
    Case(
        "two-disease diabetes only, cap 400",
        Scheme.resident,
        VisitType.two_disease,
        lines(a="600.00"),
        # fund 360 < cap 400
        {"basic_fund": "360.00", "personal_pay": "240.00"},
        qualifications=quals(("two_disease", "diabetes")),
    ),
    Case(
        "two-disease both, cap 600",
        Scheme.resident,
        VisitType.two_disease,
        lines(a="1200.00"),
        # fund 720 > cap 600 → 600
        {"basic_fund": "600.00", "personal_pay": "600.00"},
        qualifications=quals(("two_disease", "hypertension"), ("two_disease", "diabetes")),
    ),
    # --- chronic: employee 85% (+5 retiree), shares the basic cap; resident 65%, 3,000 per disease
    Case(
        "employee chronic",
        Scheme.employee,
        VisitType.chronic,
        lines(a="1000.00"),
        # no deductible; 1,000 × 0.85 = 850
        {
            "deductible": "0.00",
            "basic_fund": "850.00",
            "large_amount_subsidy": "0.00",
            "personal_pay": "150.00",
        },
        qualifications=quals(("chronic", "I10")),
        disease_code="I10",
    ),
    Case(
        "employee chronic, retiree",
        Scheme.employee,
        VisitType.chronic,
        lines(a="1000.00"),
        # 1,000 × (0.85 + 0.05) = 900
        {"basic_fund": "900.00", "personal_pay": "100.00"},
        retired=True,
        qualifications=quals(("chronic", "I10")),
        disease_code="I10",
    ),
    Case(
        "employee chronic at the shared basic cap, overflow to large-amount",
        Scheme.employee,
        VisitType.chronic,
        lines(a="1000.00"),
        # fund 850, cap left 300,000 − 299,500 = 500 → basic 500
        # covered 500 / 0.85 = 588.2352941…, overflow 411.7647059…
        # subsidy 0.8 × 411.7647059 = 329.4117647 → 329.41; personal 1,000 − 500 − 329.41
        {"basic_fund": "500.00", "large_amount_subsidy": "329.41", "personal_pay": "170.59"},
        qualifications=quals(("chronic", "I10")),
        disease_code="I10",
        used={"employee_basic": "299500.00"},
    ),
    Case(
        "resident chronic, 3,000 per disease",
        Scheme.resident,
        VisitType.chronic,
        lines(a="2000.00"),
        # fund 2,000 × 0.65 = 1,300; cap left 3,000 − 2,500 = 500
        # self-pay 1,500, running 1,500 < 15,000 → no critical illness
        {"basic_fund": "500.00", "critical_illness": "0.00", "personal_pay": "1500.00"},
        qualifications=quals(("chronic", "E11")),
        disease_code="E11",
        used={"resident_chronic:E11": "2500.00", "resident_chronic:I10": "3000.00"},
    ),
    # --- inpatient rates and deductibles by tier ---
    Case(
        "employee inpatient tier 1",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="10200.00"),
        # D 200; base 10,000 × 0.92 = 9,200
        {"deductible": "200.00", "basic_fund": "9200.00", "personal_pay": "1000.00"},
        institution=hospital(1),
    ),
    Case(
        "employee inpatient tier 2",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="10500.00"),
        # D 500; 10,000 × 0.90 = 9,000
        {"deductible": "500.00", "basic_fund": "9000.00", "personal_pay": "1500.00"},
        institution=hospital(2),
    ),
    Case(
        "employee inpatient tier 3, two segments",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="20800.00"),
        # D 800; base 20,000: 10,000 × 0.85 = 8,500 + 10,000 × 0.90 = 9,000 → 17,500
        {"deductible": "800.00", "basic_fund": "17500.00", "personal_pay": "3300.00"},
        institution=hospital(3),
    ),
    Case(
        "employee inpatient tier 3, retiree +5 per segment",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="20800.00"),
        # 10,000 × 0.90 = 9,000 + 10,000 × 0.95 = 9,500 → 18,500
        {"basic_fund": "18500.00", "personal_pay": "2300.00"},
        institution=hospital(3),
        retired=True,
    ),
    Case(
        "employee inpatient tier 1, retiree capped at 95%",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="10200.00"),
        # 0.92 + 0.05 = 0.97 → 0.95; 10,000 × 0.95 = 9,500
        {"basic_fund": "9500.00", "personal_pay": "700.00"},
        institution=hospital(1),
        retired=True,
    ),
    Case(
        "resident inpatient tier 1",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="10200.00"),
        # D 200; 10,000 × 0.90 = 9,000; self-pay 1,200 < 15,000
        {
            "deductible": "200.00",
            "basic_fund": "9000.00",
            "critical_illness": "0.00",
            "personal_pay": "1200.00",
        },
        institution=hospital(1),
    ),
    Case(
        "resident inpatient tier 2",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="10500.00"),
        # D 500; 10,000 × 0.75 = 7,500
        {"deductible": "500.00", "basic_fund": "7500.00", "personal_pay": "3000.00"},
        institution=hospital(2),
    ),
    Case(
        "resident inpatient tier 3",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="11000.00"),
        # D 1,000; 10,000 × 0.60 = 6,000
        {"deductible": "1000.00", "basic_fund": "6000.00", "personal_pay": "5000.00"},
        institution=hospital(3),
        used={"inpatient_admissions": "1"},
    ),
    Case(
        "resident 3rd admission: no deductible",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="10000.00"),
        # two admissions before → this is the 3rd: D 0; 10,000 × 0.60 = 6,000
        {"deductible": "0.00", "basic_fund": "6000.00", "personal_pay": "4000.00"},
        institution=hospital(3),
        used={"inpatient_admissions": "2"},
    ),
    Case(
        "deductible larger than the scope",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="300.00", c="100.00"),
        # S 300 < D 800: deductible applied 300, base 0
        {"deductible": "300.00", "basic_fund": "0.00", "personal_pay": "400.00"},
        institution=hospital(3),
    ),
    # --- basic annual cap and the large-amount subsidy ---
    Case(
        "employee tier 3 at the basic cap: lowest segment first",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="30800.00"),
        # D 800, base 30,000: 8,500 + 18,000 = 26,500; cap left 300,000 − 290,000 = 10,000
        # walk: 10,000 × 0.85 = 8,500 covered fully, left 1,500 → 1,500 / 0.9 = 1,666.666…
        # covered 11,666.666…, overflow 18,333.333…; subsidy 0.8 × it = 14,666.666… → 14,666.67
        {"basic_fund": "10000.00", "large_amount_subsidy": "14666.67", "personal_pay": "6133.33"},
        institution=hospital(3),
        used={"employee_basic": "290000.00"},
    ),
    Case(
        "large-amount subsidy cap 800,000",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="20500.00"),
        # basic cap used up: overflow = base 20,000; 0.8 × 20,000 = 16,000 > left 5,000
        {"basic_fund": "0.00", "large_amount_subsidy": "5000.00", "personal_pay": "15500.00"},
        institution=hospital(2),
        used={"employee_basic": "300000.00", "large_amount_subsidy": "795000.00"},
    ),
    Case(
        "resident basic cap 200,000, then critical illness",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="50200.00"),
        # D 200, base 50,000 × 0.9 = 45,000; cap left 1,000 → basic 1,000
        # self-pay 50,200 − 1,000 = 49,200; eligible 49,200 − 15,000 = 34,200 × 0.6 = 20,520
        {
            "basic_fund": "1000.00",
            "large_amount_subsidy": "0.00",
            "critical_illness": "20520.00",
            "personal_pay": "28680.00",
        },
        institution=hospital(1),
        used={"resident_basic": "199000.00"},
    ),
    # --- critical illness bands, poverty, medical assistance ---
    Case(
        "critical illness crossing the 100,000 band",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="21000.00"),
        # D 1,000, base 20,000 × 0.6 = 12,000; self-pay 9,000
        # running 110,000 → 119,000; eligible 95,000 → 104,000
        # curve 95,000 × 0.6 = 57,000 → 100,000 × 0.6 + 4,000 × 0.7 = 62,800; adds 5,800
        {"basic_fund": "12000.00", "critical_illness": "5800.00", "personal_pay": "3200.00"},
        institution=hospital(3),
        used={"critical_illness_self_pay": "110000.00"},
    ),
    Case(
        "critical illness cap 400,000",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="21000.00"),
        # adds 9,000 × 0.7 = 6,300 but only 0.50 left of the cap
        {"critical_illness": "0.50", "personal_pay": "8999.50"},
        institution=hospital(3),
        used={"critical_illness_self_pay": "900000.00", "critical_illness": "399999.50"},
    ),
    Case(
        "poverty resident: lower threshold, higher rate, medical assistance",
        Scheme.resident,
        VisitType.inpatient,
        lines(a="20500.00"),
        # D 500, base 20,000 × 0.75 = 15,000; self-pay 5,500; running 5,000 → 10,500
        # eligible 0 → 3,000 (threshold 7,500) × 0.65 = 1,950
        # assistance (20,500 − 15,000 − 1,950) = 3,550 × 0.7 = 2,485
        {
            "basic_fund": "15000.00",
            "critical_illness": "1950.00",
            "medical_assistance": "2485.00",
            "personal_pay": "1065.00",
        },
        institution=hospital(2),
        poverty=True,
        used={"critical_illness_self_pay": "5000.00"},
    ),
    Case(
        "medical assistance cap 50,000",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="10500.00"),
        # employee tier 2: basic 9,000; left 1,500 × 0.7 = 1,050 but cap left 1,000
        {"basic_fund": "9000.00", "medical_assistance": "1000.00", "personal_pay": "500.00"},
        poverty=True,
        used={"medical_assistance": "49000.00"},
    ),
    Case(
        "poverty employee outpatient: no assistance outside inpatient and chronic",
        Scheme.employee,
        VisitType.general_outpatient,
        lines(a="100.00"),
        {"basic_fund": "65.00", "medical_assistance": "0.00", "personal_pay": "35.00"},
        poverty=True,
    ),
    # --- off-site: a further 5% prior self-pay with a valid filing ---
    Case(
        "off-site inpatient with a filing",
        Scheme.employee,
        VisitType.inpatient,
        lines(a="1000.00", b="1000.00"),
        # S = 1,000 + 900 = 1,900, × 0.95 = 1,805; D 500; base 1,305 × 0.9 = 1,174.50
        {
            "total": "2000.00",
            "policy_scope": "1805.00",
            "out_of_scope": "195.00",
            "basic_fund": "1174.50",
            "personal_pay": "825.50",
        },
        institution=hospital(2, offsite=True, region="110105"),
        filings=(OffsiteFiling("long_term", "110000", date(2024, 1, 1), date(2024, 12, 31)),),
    ),
    Case(
        "off-site rounding twice",
        Scheme.employee,
        VisitType.general_outpatient,
        lines(b="10.01"),
        # S = 10.01 × 0.9 = 9.009 → 9.01; × 0.95 = 8.5595 → 8.56; × 0.65 = 5.564 → 5.56
        {
            "policy_scope": "8.56",
            "out_of_scope": "1.45",
            "basic_fund": "5.56",
            "personal_pay": "4.45",
        },
        institution=hospital(2, offsite=True, region="110105"),
        filings=(OffsiteFiling("referral", "110105", date(2024, 6, 1), date(2024, 6, 30)),),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hand_worked(case: Case) -> None:
    patient = Patient(
        True, case.scheme, case.retired, case.poverty, case.qualifications, case.filings
    )
    visit = Visit(case.visit_type, DAY, case.items, case.disease_code)
    used = {k: D(v) for k, v in case.used.items()}
    outcome = calculate(BZ_2022, patient, case.institution, visit, used)
    got = {name: f"{getattr(outcome, name):.2f}" for name in case.expect}
    assert got == case.expect
    assert outcome.personal_pay + outcome.fund_payments == outcome.total


def test_accumulator_deltas_of_an_admission() -> None:
    outcome = calculate(
        BZ_2022,
        Patient(True, Scheme.resident, poverty=True),
        hospital(2),
        Visit(VisitType.inpatient, DAY, lines(a="20500.00")),
        {},
    )
    assert outcome.deltas == {
        Pool.ADMISSIONS: D("1"),
        "resident_basic": D("15000.00"),
        Pool.CRITICAL_ILLNESS_SELF_PAY: D("5500.00"),
        Pool.CRITICAL_ILLNESS: D("0.00"),
        Pool.MEDICAL_ASSISTANCE: D("3850.00"),  # 5,500 × 0.7
    }
    assert outcome.caps["resident_basic"] == D("200000")


@pytest.mark.parametrize(
    ("patient", "institution", "visit", "field"),
    [
        (
            Patient(False, None),
            hospital(),
            Visit(VisitType.general_outpatient, DAY, lines(a="1")),
            "body.service_date",
        ),
        (
            Patient(True, Scheme.employee, qualifications=quals(("two_disease", "diabetes"))),
            hospital(),
            Visit(VisitType.two_disease, DAY, lines(a="1")),
            "body.visit_type",
        ),
        (
            Patient(True, Scheme.resident),
            hospital(),
            Visit(VisitType.two_disease, DAY, lines(a="1")),
            "body.visit_type",
        ),
        (
            Patient(True, Scheme.resident, qualifications=quals(("chronic", "I10"))),
            hospital(),
            Visit(VisitType.chronic, DAY, lines(a="1"), "E11"),
            "body.disease_code",
        ),
        (
            Patient(True, Scheme.resident),
            hospital(),
            Visit(VisitType.chronic, DAY, lines(a="1")),
            "body.disease_code",
        ),
        (
            Patient(True, Scheme.resident),
            PHARMACY,
            Visit(VisitType.inpatient, DAY, lines(a="1")),
            "body.visit_type",
        ),
        (
            Patient(
                True,
                Scheme.employee,
                offsite_filings=(
                    OffsiteFiling("long_term", "310000", date(2024, 1, 1), date(2024, 12, 31)),
                ),
            ),
            hospital(offsite=True, region="110105"),
            Visit(VisitType.general_outpatient, DAY, lines(a="1")),
            "body.institution_code",
        ),
        (
            Patient(
                True,
                Scheme.employee,
                offsite_filings=(
                    OffsiteFiling("referral", "110105", date(2024, 1, 1), date(2024, 5, 31)),
                ),
            ),
            hospital(offsite=True, region="110105"),
            Visit(VisitType.general_outpatient, DAY, lines(a="1")),
            "body.institution_code",
        ),
    ],
)
def test_refused_visits_name_the_field(patient, institution, visit, field) -> None:
    with pytest.raises(DomainError) as raised:
        calculate(BZ_2022, patient, institution, visit, {})
    assert raised.value.field == field


def test_a_new_version_changes_figures_without_code() -> None:
    employee = BZ_2022.employee.model_copy(update={"general_outpatient_rate": D("0.70")})
    newer = BZ_2022.model_copy(update={"employee": employee})
    outcome = calculate(
        newer,
        Patient(True, Scheme.employee),
        hospital(),
        Visit(VisitType.general_outpatient, DAY, lines(a="100.00")),
        {},
    )
    assert outcome.basic_fund == D("70.00")


# --- invariants ----------------------------------------------------------------------------------

money = st.decimals(min_value=D("0.01"), max_value=D("60000"), places=2)
usage = st.decimals(min_value=D("0"), max_value=D("900000"), places=2)
POOLS = [
    "employee_general_outpatient",
    "resident_general_outpatient",
    "resident_two_disease",
    "employee_basic",
    "resident_basic",
    "resident_chronic:E11",
    Pool.LARGE_AMOUNT,
    Pool.CRITICAL_ILLNESS,
    Pool.CRITICAL_ILLNESS_SELF_PAY,
    Pool.MEDICAL_ASSISTANCE,
]


@st.composite
def scenarios(draw):
    scheme = draw(st.sampled_from(list(Scheme)))
    types = [VisitType.general_outpatient, VisitType.chronic, VisitType.inpatient]
    if scheme is Scheme.resident:
        types.append(VisitType.two_disease)
    visit_type = draw(st.sampled_from(types))
    items = tuple(
        Line(
            f"X{i}",
            draw(st.sampled_from(list(Category))),
            draw(st.decimals(min_value=D("0.5"), max_value=D("20"), places=1)),
            draw(money),
        )
        for i in range(draw(st.integers(1, 4)))
    )
    offsite = draw(st.booleans())
    institution = hospital(
        draw(st.sampled_from([1, 2, 3])), offsite, "110105" if offsite else "371602"
    )
    patient = Patient(
        True,
        scheme,
        draw(st.booleans()),
        draw(st.booleans()),
        quals(("chronic", "E11"), ("two_disease", "hypertension")),
        (OffsiteFiling("long_term", "110000", date(2024, 1, 1), None),),
    )
    used = {pool: draw(usage) for pool in draw(st.lists(st.sampled_from(POOLS), unique=True))}
    used[Pool.ADMISSIONS] = D(draw(st.integers(0, 4)))
    return patient, institution, Visit(visit_type, DAY, items, "E11"), used


LAYERS = ("basic_fund", "large_amount_subsidy", "critical_illness", "medical_assistance")


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_invariants(scenario) -> None:
    patient, institution, visit, used = scenario
    outcome = calculate(BZ_2022, patient, institution, visit, used)
    for name in (*LAYERS, "total", "out_of_scope", "policy_scope", "deductible", "personal_pay"):
        value = getattr(outcome, name)
        assert value >= 0, name
        assert value == value.quantize(D("0.01")), name
    assert outcome.personal_pay + outcome.fund_payments == outcome.total
    assert outcome.fund_payments <= outcome.policy_scope <= outcome.total
    after = apply(used, outcome.deltas)
    for pool, cap in outcome.caps.items():
        if cap is not None:
            # A pool already past its cap (a lowered cap in a newer version) pays nothing more.
            assert after[pool] <= max(cap, used.get(pool, D(0)))
            if used.get(pool, D(0)) >= cap:
                assert outcome.deltas[pool] == 0
    restored = apply(after, outcome.deltas, sign=-1)
    assert all(restored.get(k, D(0)) == used.get(k, D(0)) for k in set(restored) | set(used))
