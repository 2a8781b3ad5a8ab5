"""The settlement calculator (结算) of DOMAIN.md 3.2-3.4: pure, exact decimals, no I/O.

Each fund layer is rounded ROUND_HALF_UP to the fen once; unrounded intermediate values (the
overflow base, the critical-illness curve) stay exact so layers do not compound rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.claims.domain.policy import (
    CriticalIllnessRules,
    PolicyParameters,
    Scheme,
    SchemeRules,
    Segment,
    VisitType,
)
from shared.money import round_money
from shared.schemas import Choice

ZERO = Decimal("0")
ONE = Decimal("1")


class Category(Choice):
    """Catalog class 甲 (A), 乙 (B), 丙 (C)."""

    A = "A"
    B = "B"
    C = "C"


class Pool:
    """Accumulator names: annual caps are on these per person and year."""

    ADMISSIONS = "inpatient_admissions"
    LARGE_AMOUNT = "large_amount_subsidy"
    CRITICAL_ILLNESS = "critical_illness"
    CRITICAL_ILLNESS_SELF_PAY = "critical_illness_self_pay"
    MEDICAL_ASSISTANCE = "medical_assistance"
    TWO_DISEASE = "resident_two_disease"

    @staticmethod
    def general_outpatient(scheme: Scheme) -> str:
        return f"{scheme.value}_general_outpatient"

    @staticmethod
    def basic(scheme: Scheme) -> str:
        """Inpatient basic fund (and employees' chronic visits, which share its cap)."""
        return f"{scheme.value}_basic"

    @staticmethod
    def chronic(scheme: Scheme, disease_code: str) -> str:
        return f"{scheme.value}_chronic:{disease_code}"


class DomainError(Exception):
    """A rule the visit breaks; the API answers 422 naming ``field``."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    category: Category
    quantity: Decimal
    unit_price: Decimal
    name: str = ""

    @property
    def amount(self) -> Decimal:
        return round_money(self.quantity * self.unit_price)


@dataclass(frozen=True, slots=True)
class Qualification:
    kind: str  # chronic | two_disease
    disease_code: str
    start_date: date
    end_date: date | None

    def valid_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True, slots=True)
class OffsiteFiling:
    kind: str
    destination_region: str
    start_date: date
    end_date: date | None

    def covers(self, day: date, region_code: str) -> bool:
        if not (self.start_date <= day and (self.end_date is None or day <= self.end_date)):
            return False
        # "110000" files for the whole province, "110100" a city: compare significant digits.
        wanted, actual = _significant(self.destination_region), _significant(region_code)
        return actual.startswith(wanted) or wanted.startswith(actual)


def _significant(region: str) -> str:
    region = region[:6]
    while region.endswith("00") and len(region) > 2:
        region = region[:-2]
    return region


@dataclass(frozen=True, slots=True)
class Patient:
    """The person on the service date, as enrollment's eligibility read tells it."""

    eligible: bool
    scheme: Scheme | None
    retired: bool = False
    poverty: bool = False
    qualifications: tuple[Qualification, ...] = ()
    offsite_filings: tuple[OffsiteFiling, ...] = ()


@dataclass(frozen=True, slots=True)
class Institution:
    code: str
    kind: str  # hospital | pharmacy
    tier: int | None
    region_code: str
    offsite: bool
    designated: bool = True


@dataclass(frozen=True, slots=True)
class Visit:
    visit_type: VisitType
    service_date: date
    lines: tuple[Line, ...]
    disease_code: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The explanation of benefits and what the settlement adds to each accumulator."""

    total: Decimal
    out_of_scope: Decimal
    policy_scope: Decimal
    deductible: Decimal
    basic_fund: Decimal
    large_amount_subsidy: Decimal
    critical_illness: Decimal
    medical_assistance: Decimal
    personal_pay: Decimal
    deltas: dict[str, Decimal] = field(default_factory=dict)
    caps: dict[str, Decimal | None] = field(default_factory=dict)
    """Annual cap of each pool this visit touches (None: a counter, not a capped pool)."""

    @property
    def fund_payments(self) -> Decimal:
        return (
            self.basic_fund
            + self.large_amount_subsidy
            + self.critical_illness
            + self.medical_assistance
        )


# --- checks ------------------------------------------------------------------------------------


def check_visit(patient: Patient, institution: Institution, visit: Visit) -> Scheme:
    """The rules that refuse a visit before any money is computed; returns the scheme."""
    if not patient.eligible or patient.scheme is None:
        raise DomainError(
            f"the person is not covered on {visit.service_date.isoformat()}", "body.service_date"
        )
    if not institution.designated:
        raise DomainError(
            f"institution {institution.code} is not a designated institution",
            "body.institution_code",
        )
    if not visit.lines:
        raise DomainError("a settlement needs at least one item", "body.items")
    if visit.visit_type is VisitType.inpatient and (
        institution.kind != "hospital" or institution.tier not in (1, 2, 3)
    ):
        raise DomainError(
            f"inpatient care needs a hospital with a tier; {institution.code} is not one",
            "body.visit_type",
        )
    if visit.visit_type is VisitType.two_disease:
        if patient.scheme is not Scheme.resident:
            raise DomainError("two-disease visits are for residents only", "body.visit_type")
        if not two_disease_codes(patient, visit.service_date):
            raise DomainError(
                "the person has no two-disease (两病) status on the service date",
                "body.visit_type",
            )
    if visit.visit_type is VisitType.chronic:
        if not visit.disease_code:
            raise DomainError("a chronic visit needs a disease_code", "body.disease_code")
        if not any(
            q.kind == "chronic"
            and q.disease_code == visit.disease_code
            and q.valid_on(visit.service_date)
            for q in patient.qualifications
        ):
            raise DomainError(
                f"the person has no chronic-disease approval for {visit.disease_code} "
                "on the service date",
                "body.disease_code",
            )
    if institution.offsite and not any(
        f.covers(visit.service_date, institution.region_code) for f in patient.offsite_filings
    ):
        raise DomainError(
            f"treatment at off-site institution {institution.code} needs an off-site filing "
            f"for region {institution.region_code} valid on the service date",
            "body.institution_code",
        )
    return patient.scheme


def two_disease_codes(patient: Patient, day: date) -> frozenset[str]:
    return frozenset(
        q.disease_code
        for q in patient.qualifications
        if q.kind == "two_disease"
        and q.disease_code in ("hypertension", "diabetes")
        and q.valid_on(day)
    )


# --- steps ---------------------------------------------------------------------------------------


def policy_scope(
    policy: PolicyParameters, lines: Sequence[Line], offsite: bool
) -> tuple[Decimal, Decimal]:
    """(total, S): class A fully, class B after its prior self-pay, class C not at all."""
    total = sum((line.amount for line in lines), ZERO)
    class_a = sum((line.amount for line in lines if line.category is Category.A), ZERO)
    class_b = sum((line.amount for line in lines if line.category is Category.B), ZERO)
    scope = round_money(class_a + class_b * (ONE - policy.class_b_prior_self_pay))
    if offsite:
        scope = round_money(scope * (ONE - policy.offsite_prior_self_pay))
    return total, scope


def split(base: Decimal, segments: Sequence[Segment]) -> list[tuple[Decimal, Decimal]]:
    """(amount, rate) of each band of the base, lowest band first."""
    out: list[tuple[Decimal, Decimal]] = []
    lower = ZERO
    for segment in segments:
        upper = base if segment.up_to is None else min(base, segment.up_to)
        out.append((max(ZERO, upper - lower), segment.rate))
        if segment.up_to is not None:
            lower = max(lower, segment.up_to)
    return out


def covered_by(paid: Decimal, pieces: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """How much of the base ``paid`` covers, walking the bands lowest first (unrounded)."""
    left, covered = paid, ZERO
    for amount, rate in pieces:
        if amount * rate <= left:
            covered += amount
            left -= amount * rate
        else:
            covered += left / rate
            break
    return covered


def _critical_curve(eligible: Decimal, rules: CriticalIllnessRules, poverty: bool) -> Decimal:
    first = rules.poverty_first_rate if poverty else rules.first_rate
    rest = rules.poverty_rest_rate if poverty else rules.rest_rate
    return min(eligible, rules.first_band) * first + max(ZERO, eligible - rules.first_band) * rest


def _visit_rates(
    rules: SchemeRules, patient: Patient, visit: Visit, tier: int | None
) -> list[Segment]:
    if visit.visit_type is VisitType.general_outpatient:
        segments = [Segment(rate=rules.general_outpatient_rate)]
    elif visit.visit_type is VisitType.two_disease:
        assert rules.two_disease is not None
        segments = [Segment(rate=rules.two_disease.rate)]
    elif visit.visit_type is VisitType.chronic:
        segments = [Segment(rate=rules.chronic_rate)]
    else:
        assert tier is not None
        segments = list(rules.inpatient_segments[tier])
    if (
        patient.retired
        and rules.retiree_bonus
        and visit.visit_type in rules.retiree_bonus_visit_types
    ):
        segments = [
            Segment(
                up_to=s.up_to, rate=min(s.rate + rules.retiree_bonus, max(rules.max_rate, s.rate))
            )
            for s in segments
        ]
    return segments


def _pool_and_cap(
    rules: SchemeRules, scheme: Scheme, patient: Patient, visit: Visit
) -> tuple[str, Decimal]:
    if visit.visit_type is VisitType.general_outpatient:
        return Pool.general_outpatient(scheme), rules.general_outpatient_annual_cap
    if visit.visit_type is VisitType.two_disease:
        two = rules.two_disease
        if two is None:
            raise DomainError(
                f"the policy has no two-disease benefit for {scheme}", "body.visit_type"
            )
        codes = two_disease_codes(patient, visit.service_date)
        if len(codes) == 2:
            return Pool.TWO_DISEASE, two.annual_cap_both
        if "diabetes" in codes:
            return Pool.TWO_DISEASE, two.annual_cap_diabetes
        return Pool.TWO_DISEASE, two.annual_cap_hypertension
    if visit.visit_type is VisitType.chronic and rules.chronic_cap_per_disease is not None:
        assert visit.disease_code is not None
        return Pool.chronic(scheme, visit.disease_code), rules.chronic_cap_per_disease
    return Pool.basic(scheme), rules.basic_annual_cap


def _deductible(
    rules: SchemeRules, visit: Visit, tier: int | None, admissions_before: int
) -> Decimal:
    if visit.visit_type is VisitType.general_outpatient:
        return rules.general_outpatient_deductible
    if visit.visit_type is VisitType.chronic:
        return rules.chronic_deductible
    if visit.visit_type is VisitType.two_disease:
        return rules.two_disease.deductible if rules.two_disease else ZERO
    free_from = rules.deductible_free_from_admission
    if free_from is not None and admissions_before + 1 >= free_from:
        return ZERO
    assert tier is not None
    return rules.inpatient_deductible[tier]


def _capped(amount: Decimal, cap: Decimal, used: Decimal) -> Decimal:
    return max(ZERO, min(amount, cap - used))


def calculate(
    policy: PolicyParameters,
    patient: Patient,
    institution: Institution,
    visit: Visit,
    used: Mapping[str, Decimal],
) -> Outcome:
    """One settlement, given what the person's accumulators already hold this year.

    ``used`` maps pool names (:class:`Pool`) to amounts; a missing pool is zero.
    """
    scheme = check_visit(patient, institution, visit)
    rules = policy.rules(scheme)

    def have(pool: str) -> Decimal:
        return used.get(pool, ZERO)

    # 3.2: policy scope
    total, scope = policy_scope(policy, visit.lines, institution.offsite)
    deltas: dict[str, Decimal] = {}
    caps: dict[str, Decimal | None] = {}
    tier = institution.tier
    inpatient = visit.visit_type is VisitType.inpatient
    serious = visit.visit_type in (VisitType.inpatient, VisitType.chronic)

    # 3.4.1: deductible and base
    admissions_before = int(have(Pool.ADMISSIONS))
    deductible = min(_deductible(rules, visit, tier, admissions_before), scope)
    base = scope - deductible
    if inpatient:
        deltas[Pool.ADMISSIONS] = ONE
        caps[Pool.ADMISSIONS] = None

    # 3.4.2-3: segments, basic fund, cap walk and overflow base
    pieces = split(base, _visit_rates(rules, patient, visit, tier))
    fund = round_money(sum((amount * rate for amount, rate in pieces), ZERO))
    pool, cap = _pool_and_cap(rules, scheme, patient, visit)
    basic = _capped(fund, cap, have(pool))
    overflow = ZERO if basic == fund else base - covered_by(basic, pieces)
    deltas[pool] = basic
    caps[pool] = cap

    # 3.4.4: large-amount subsidy (employees)
    subsidy = ZERO
    if serious and rules.large_amount_subsidy is not None:
        large = rules.large_amount_subsidy
        subsidy = _capped(
            round_money(overflow * large.rate), large.annual_cap, have(Pool.LARGE_AMOUNT)
        )
        subsidy = min(subsidy, scope - basic)
        deltas[Pool.LARGE_AMOUNT] = subsidy
        caps[Pool.LARGE_AMOUNT] = large.annual_cap

    # 3.4.5: critical-illness insurance (residents), on the running in-scope self-pay
    critical = ZERO
    if serious and rules.critical_illness is not None:
        ci = rules.critical_illness
        self_pay = scope - basic - subsidy
        threshold = ci.poverty_threshold if patient.poverty else ci.threshold
        before = have(Pool.CRITICAL_ILLNESS_SELF_PAY)
        after = before + self_pay
        added = _critical_curve(
            max(ZERO, after - threshold), ci, patient.poverty
        ) - _critical_curve(max(ZERO, before - threshold), ci, patient.poverty)
        critical = min(
            _capped(round_money(added), ci.annual_cap, have(Pool.CRITICAL_ILLNESS)), self_pay
        )
        deltas[Pool.CRITICAL_ILLNESS_SELF_PAY] = self_pay
        deltas[Pool.CRITICAL_ILLNESS] = critical
        caps[Pool.CRITICAL_ILLNESS_SELF_PAY] = None
        caps[Pool.CRITICAL_ILLNESS] = ci.annual_cap

    # 3.4.6: medical assistance (poverty persons)
    assistance = ZERO
    if serious and patient.poverty:
        ma = policy.medical_assistance
        left = scope - basic - subsidy - critical
        assistance = min(
            _capped(round_money(left * ma.rate), ma.annual_cap, have(Pool.MEDICAL_ASSISTANCE)),
            left,
        )
        deltas[Pool.MEDICAL_ASSISTANCE] = assistance
        caps[Pool.MEDICAL_ASSISTANCE] = ma.annual_cap

    personal = total - basic - subsidy - critical - assistance
    return Outcome(
        total=total,
        out_of_scope=total - scope,
        policy_scope=scope,
        deductible=deductible,
        basic_fund=basic,
        large_amount_subsidy=subsidy,
        critical_illness=critical,
        medical_assistance=assistance,
        personal_pay=personal,
        deltas=deltas,
        caps=caps,
    )


def apply(
    used: Mapping[str, Decimal], deltas: Mapping[str, Decimal], sign: int = 1
) -> dict[str, Decimal]:
    """Accumulators after adding (or, with ``sign=-1``, reversing) a settlement's deltas."""
    out = dict(used)
    for pool, amount in deltas.items():
        out[pool] = out.get(pool, ZERO) + sign * amount
    return out


def pool_cap(policy: PolicyParameters, pool: str) -> Decimal | None:
    """The annual cap of a pool under a policy; None for counters and status-dependent caps."""
    ci = policy.resident.critical_illness
    large = policy.employee.large_amount_subsidy
    fixed: dict[str, Decimal | None] = {
        Pool.LARGE_AMOUNT: large.annual_cap if large else None,
        Pool.CRITICAL_ILLNESS: ci.annual_cap if ci else None,
        Pool.MEDICAL_ASSISTANCE: policy.medical_assistance.annual_cap,
    }
    if pool in fixed:
        return fixed[pool]
    for scheme in Scheme:
        rules = policy.rules(scheme)
        if pool == Pool.general_outpatient(scheme):
            return rules.general_outpatient_annual_cap
        if pool == Pool.basic(scheme):
            return rules.basic_annual_cap
        if pool.startswith(f"{scheme.value}_chronic:"):
            return rules.chronic_cap_per_disease
    return None
