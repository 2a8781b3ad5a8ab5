"""Rules on an institution's particulars: nature and registering authority, form, age groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.schemas import Choice


class Nature(Choice):
    non_profit = "non_profit"
    for_profit = "for_profit"


class RegistrationAuthority(Choice):
    civil_affairs = "civil_affairs"
    """民政部门 (private non-enterprise units)."""
    staffing_office = "staffing_office"
    """机构编制部门 (public institutions)."""
    market_regulation = "market_regulation"
    """市场监管部门 (companies)."""


class Form(Choice):
    standalone = "standalone"
    kindergarten_class = "kindergarten_class"
    """托班 of a kindergarten: ages 2-3 only."""
    employer_run = "employer_run"
    community_public = "community_public"
    """社区公办民营 / community public-run."""
    chain_brand = "chain_brand"


class AgeGroup(Choice):
    infant = "infant"
    """0-1 year."""
    toddler = "toddler"
    """1-2 years."""
    preschool = "preschool"
    """2-3 years."""


class ServiceMode(Choice):
    full_day = "full_day"
    half_day = "half_day"
    hourly = "hourly"
    temporary = "temporary"


class FeePeriod(Choice):
    month = "month"
    day = "day"
    hour = "hour"


AUTHORITIES: Mapping[Nature, frozenset[RegistrationAuthority]] = {
    Nature.non_profit: frozenset(
        {RegistrationAuthority.civil_affairs, RegistrationAuthority.staffing_office}
    ),
    Nature.for_profit: frozenset({RegistrationAuthority.market_regulation}),
}
"""Non-profit: civil affairs or the staffing office; for-profit: market regulation (seed)."""

USCC_AUTHORITY_CHAR: Mapping[RegistrationAuthority, str] = {
    RegistrationAuthority.staffing_office: "1",
    RegistrationAuthority.civil_affairs: "5",
    RegistrationAuthority.market_regulation: "9",
}
"""GB 32100's first character names the registering authority."""

KINDERGARTEN_CLASS_AGE_GROUPS = frozenset({AgeGroup.preschool})


def particular_errors(
    *,
    uscc: str,
    nature: Nature,
    authority: RegistrationAuthority,
    form: Form,
    capacity: Mapping[AgeGroup, int],
    service_modes: Iterable[ServiceMode],
    fee_modes: Iterable[ServiceMode],
) -> list[tuple[str, str]]:
    """(field, message) for each rule broken; empty when the particulars hang together."""
    errors: list[tuple[str, str]] = []
    if authority not in AUTHORITIES[nature]:
        allowed = " or ".join(sorted(a.value for a in AUTHORITIES[nature]))
        errors.append(
            (
                "registration_authority",
                f"a {nature.value} institution registers with {allowed}, not {authority.value}",
            )
        )
    elif uscc[:1] != USCC_AUTHORITY_CHAR[authority]:
        errors.append(
            (
                "uscc",
                f"a credit code issued by {authority.value} starts with "
                f"{USCC_AUTHORITY_CHAR[authority]}",
            )
        )
    if form is Form.kindergarten_class:
        errors.extend(
            (f"capacity.{group.value}", "a kindergarten class takes only ages 2-3 (preschool)")
            for group, places in capacity.items()
            if group not in KINDERGARTEN_CLASS_AGE_GROUPS and places > 0
        )
    if not any(places > 0 for places in capacity.values()):
        errors.append(("capacity", "at least one age group needs places"))
    modes = set(service_modes)
    errors.extend(
        (f"fees.{mode.value}", f"{mode.value} is not one of the institution's service modes")
        for mode in fee_modes
        if mode not in modes
    )
    return errors
