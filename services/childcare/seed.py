"""Demo data for childcare: institutions across the seven counties, filed and unfiled, with
staff, inspectors, inspections, a published double-random draw and one ban. Idempotent.

Institution 1 is 滨城区爱心托育园 in 371602, the one the demo operator client is bound to.
Everything goes through the service functions, so the demo history is one the state machine
could have produced.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.childcare import service, supervision
from services.childcare.domain.credit import Result, Severity
from services.childcare.domain.filing import Action, State
from services.childcare.domain.institution import (
    AgeGroup,
    FeePeriod,
    Form,
    Nature,
    RegistrationAuthority,
    ServiceMode,
)
from services.childcare.domain.staff import InspectionLevel, StaffRole
from services.childcare.models import (
    Ban,
    Capacity,
    Draw,
    FilingEvent,
    Inspection,
    Inspector,
    Institution,
    Staff,
)
from services.childcare.schemas import (
    BanCreate,
    DrawCreate,
    FacilityFacts,
    FeeIn,
    Finding,
    InspectionCreate,
    StaffCreate,
)
from shared.auth import ClientKind, Principal
from shared.regions import counties, region
from shared.validators import make_id_number, make_uscc

ADMIN = Principal(client_id="seed-admin", kind=ClientKind.admin)
DRAW_SEED = 20230101
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "丽娜静敏燕芳婷雪慧颖洁琳玲梅晶红霞欣悦"


@dataclass(frozen=True)
class Demo:
    uscc: str
    name: str
    nature: Nature
    authority: RegistrationAuthority
    form: Form
    township: str
    capacity: dict[AgeGroup, int]
    modes: tuple[ServiceMode, ...]
    monthly_fee: int
    state: State
    demonstration: bool = False


def _uscc(authority: RegistrationAuthority, county: str, serial: int) -> str:
    head = {
        RegistrationAuthority.market_regulation: "91",
        RegistrationAuthority.civil_affairs: "52",
        RegistrationAuthority.staffing_office: "12",
    }[authority]
    tail = "MA" if head == "91" else "MJ" if head == "52" else "49"
    return make_uscc(f"{head}{county}{tail}{serial:07d}")


def demo_institutions() -> list[Demo]:
    full = {AgeGroup.infant: 10, AgeGroup.toddler: 20, AgeGroup.preschool: 30}
    out = [
        # The two rows of the first release keep their credit codes (and so ids 1 and 2).
        Demo(
            make_uscc("52371602MJ0000010"),
            "滨城区爱心托育园",
            Nature.non_profit,
            RegistrationAuthority.civil_affairs,
            Form.standalone,
            "371602001",
            full,
            (ServiceMode.full_day, ServiceMode.half_day, ServiceMode.hourly),
            1600,
            State.approved,
            demonstration=True,
        ),
        Demo(
            make_uscc("9137160200000002A"),
            "邹平市小太阳托育中心",
            Nature.for_profit,
            RegistrationAuthority.market_regulation,
            Form.chain_brand,
            "371681001",
            {AgeGroup.toddler: 15, AgeGroup.preschool: 25},
            (ServiceMode.full_day, ServiceMode.temporary),
            2200,
            State.approved,
            demonstration=True,
        ),
    ]
    # Wudi (371623) has no demonstration institution yet: the 2025 target shows as unmet.
    demonstration_counties = {"371602", "371603", "371621", "371622", "371625"}
    for ci, county in enumerate(counties()):
        c = county.code
        short = county.name
        out.append(
            Demo(
                _uscc(RegistrationAuthority.market_regulation, c, 100 + ci),
                f"{short}金色童年托育中心",
                Nature.for_profit,
                RegistrationAuthority.market_regulation,
                Form.chain_brand if ci % 2 else Form.standalone,
                f"{c}002",
                full,
                (ServiceMode.full_day, ServiceMode.hourly),
                1800 + 100 * ci,
                State.approved,
                demonstration=c in demonstration_counties,
            )
        )
        out.append(
            Demo(
                _uscc(RegistrationAuthority.staffing_office, c, 200 + ci),
                f"{short}实验幼儿园托班",
                Nature.non_profit,
                RegistrationAuthority.staffing_office,
                Form.kindergarten_class,
                f"{c}001",
                {AgeGroup.preschool: 40},
                (ServiceMode.full_day, ServiceMode.half_day),
                900,
                State.approved if ci % 2 == 0 else State.submitted,
            )
        )
        out.append(
            Demo(
                _uscc(RegistrationAuthority.civil_affairs, c, 300 + ci),
                f"{short}社区婴幼儿照护驿站",
                Nature.non_profit,
                RegistrationAuthority.civil_affairs,
                Form.community_public if ci % 3 else Form.employer_run,
                f"{c}003",
                {AgeGroup.infant: 6, AgeGroup.toddler: 12},
                (ServiceMode.hourly, ServiceMode.temporary),
                600,
                (State.draft, State.returned, State.resubmitted)[ci % 3],
            )
        )
    return out


def _operator(institution_id: int) -> Principal:
    return Principal(
        client_id=f"seed-operator-{institution_id}",
        kind=ClientKind.childcare_operator,
        bound=str(institution_id),
    )


def _reviewer(county: str) -> Principal:
    return Principal(
        client_id=f"seed-reviewer-{county}", kind=ClientKind.childcare_reviewer, bound=county
    )


_PATH: dict[State, list[tuple[Action, str, str | None]]] = {
    State.draft: [],
    State.submitted: [(Action.submit, "operator", None)],
    State.returned: [
        (Action.submit, "operator", None),
        (Action.return_, "reviewer", "请补充消防验收意见书和卫生评价报告"),
    ],
    State.resubmitted: [
        (Action.submit, "operator", None),
        (Action.return_, "reviewer", "请补充保育人员资格证明"),
        (Action.resubmit, "operator", "已补充"),
    ],
    State.approved: [
        (Action.submit, "operator", None),
        (Action.approve, "reviewer", None),
    ],
}


async def _institution_id(session: AsyncSession, demo: Demo, rng: random.Random) -> int:
    township = region(demo.township)
    assert township is not None
    facilities = FacilityFacts(
        indoor_area_m2=sum(demo.capacity.values()) * 4,
        outdoor_area_m2=sum(demo.capacity.values()) * 2,
        has_kitchen=demo.form is not Form.kindergarten_class,
        has_health_room=True,
        cctv=True,
        fire_safety_approved=True,
    )
    values = {
        "name": demo.name,
        "nature": demo.nature.value,
        "registration_authority": demo.authority.value,
        "form": demo.form.value,
        "region_code": demo.township,
        "address": f"{township.name}{rng.randrange(1, 300)}号",
        "lat": round(township.lat + rng.uniform(-0.01, 0.01), 6),
        "lon": round(township.lon + rng.uniform(-0.01, 0.01), 6),
        "phone": f"0543-{rng.randrange(2_000_000, 9_000_000)}",
        "service_modes": [m.value for m in demo.modes],
        "facilities": facilities.model_dump(),
        "demonstration": demo.demonstration,
    }
    statement = insert(Institution).values(uscc=demo.uscc, **values)
    # Rows of the first release have only empty particulars: fill them in once.
    statement = statement.on_conflict_do_update(
        index_elements=[Institution.uscc],
        set_=values,
        where=Institution.address == "",
    )
    await session.execute(statement)
    institution_id = await session.scalar(
        select(Institution.id).where(Institution.uscc == demo.uscc)
    )
    assert institution_id is not None
    await session.execute(
        insert(service.Filing)
        .values(institution_id=institution_id, state=State.draft.value, version=0)
        .on_conflict_do_nothing()
    )
    if not await session.scalar(
        select(func.count()).select_from(Capacity).where(Capacity.institution_id == institution_id)
    ):
        await service._replace_capacity(session, institution_id, demo.capacity, {})
        fees: dict[ServiceMode, FeeIn] = {
            m: FeeIn(
                amount=Decimal(demo.monthly_fee if m is ServiceMode.full_day else 40),
                period=FeePeriod.month if m is ServiceMode.full_day else FeePeriod.hour,
            )
            for m in demo.modes
            if m in (ServiceMode.full_day, ServiceMode.hourly)
        }
        if ServiceMode.half_day in demo.modes:
            fees[ServiceMode.half_day] = FeeIn(
                amount=Decimal(demo.monthly_fee * 6 // 10), period=FeePeriod.month
            )
        await service._replace_fees(session, institution_id, fees)
    return institution_id


def _person(rng: random.Random, county: str) -> tuple[str, str]:
    born = date(1970, 1, 1) + timedelta(days=rng.randrange(365 * 30))
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    return make_id_number(county, born, rng.randrange(1, 999)), name


async def _populate(
    session: AsyncSession,
    institution_id: int,
    demo: Demo,
    rng: random.Random,
    inspectors: dict[str, list[int]],
    today: date,
) -> list[tuple[str, str]]:
    county = demo.township[:6]
    operator, reviewer = _operator(institution_id), _reviewer(county)
    hired: list[tuple[str, str]] = []
    roles = [StaffRole.director, StaffRole.caregiver, StaffRole.caregiver, StaffRole.health_worker]
    if demo.form is not Form.kindergarten_class:
        roles += [StaffRole.cook, StaffRole.security]
    for k, role in enumerate(roles):
        id_number, name = _person(rng, county)
        # Every fifth person is behind on the yearly health check.
        checked = today - timedelta(days=400 if k == 2 else rng.randrange(20, 300))
        await service.hire(
            session,
            operator,
            institution_id,
            StaffCreate(
                id_number=id_number,
                name=name,
                role=role,
                qualification={
                    StaffRole.director: "幼儿园园长任职资格",
                    StaffRole.caregiver: "保育员(四级)",
                    StaffRole.health_worker: "护士执业证书",
                    StaffRole.cook: "食品安全培训合格",
                    StaffRole.security: "保安员证",
                }[role],
                phone=f"138{rng.randrange(10_000_000, 99_999_999)}",
                health_check_on=checked,
                training_hours=rng.randrange(16, 80),
                last_training_on=today - timedelta(days=rng.randrange(10, 200)),
                hired_on=today - timedelta(days=rng.randrange(200, 1500)),
            ),
        )
        hired.append((id_number, name))
    for action, who, reason in _PATH[demo.state]:
        await service.transition(
            session, operator if who == "operator" else reviewer, institution_id, action, reason
        )
    if demo.state is State.approved:
        team = inspectors[county][:2]
        first = await supervision.create_inspection(
            session,
            reviewer,
            institution_id,
            InspectionCreate(
                level=InspectionLevel.county,
                inspected_on=today - timedelta(days=90),
                inspector_ids=team,
                result=Result.rectify,
                findings=[
                    Finding(item="消防安全", description="灭火器压力不足", severity=Severity.major),
                    Finding(item="卫生保健", description="晨检记录不全", severity=Severity.minor),
                ],
                rectification_deadline=today - timedelta(days=60),
            ),
        )
        # Most rectify in time; the Yangxin chain centre leaves it open (a low rating).
        if not (county == "371622" and demo.form is Form.chain_brand):
            await supervision.create_inspection(
                session,
                reviewer,
                institution_id,
                InspectionCreate(
                    level=InspectionLevel.township,
                    inspected_on=today - timedelta(days=70),
                    inspector_ids=team[1:],
                    result=Result.passed,
                    reinspection_of=first.id,
                ),
            )
        await supervision.create_inspection(
            session,
            ADMIN,
            institution_id,
            InspectionCreate(
                level=InspectionLevel.city,
                inspected_on=today - timedelta(days=20),
                inspector_ids=inspectors["3716"][:1],
                result=Result.passed,
                findings=[]
                if demo.demonstration
                else [
                    Finding(item="安全管理", description="值班表未公示", severity=Severity.minor)
                ],
            ),
        )
    return hired


async def seed(session: AsyncSession) -> str:
    rng = random.Random(6)
    today = service.today()
    await session.execute(
        insert(Inspector).on_conflict_do_nothing(),
        [
            {"code": f"INS-3716-{k:02d}", "name": n, "region_code": "3716", "level": "city"}
            for k, n in enumerate(("市卫健委 周明", "市卫健委 吴刚"), start=1)
        ]
        + [
            {
                "code": f"INS-{c.code}-{k:02d}",
                "name": f"{c.name}卫健局 检查员{k}",
                "region_code": c.code,
                "level": "county",
            }
            for c in counties()
            for k in range(1, 5)
        ],
    )
    inspectors: dict[str, list[int]] = {}
    for inspector in await session.scalars(select(Inspector).order_by(Inspector.id)):
        inspectors.setdefault(inspector.region_code, []).append(inspector.id)

    employed: dict[str, list[tuple[str, str]]] = {}
    for demo in demo_institutions():
        institution_id = await _institution_id(session, demo, rng)
        untouched = not await session.scalar(
            select(func.count())
            .select_from(FilingEvent)
            .where(FilingEvent.institution_id == institution_id)
        ) and not await session.scalar(
            select(func.count()).select_from(Staff).where(Staff.institution_id == institution_id)
        )
        if untouched:
            employed[demo.township[:6]] = await _populate(
                session, institution_id, demo, rng, inspectors, today
            )

    # One lifetime ban: a caregiver in Zhanhua found to have abused a child.
    if employed.get("371603") and not await session.scalar(select(func.count()).select_from(Ban)):
        id_number, name = employed["371603"][1]
        await service.ban(
            session,
            ADMIN,
            BanCreate(id_number=id_number, name=name, reason="虐待婴幼儿,经法院判决,终身禁入"),
        )

    if not await session.scalar(select(Draw.id).where(Draw.seed == DRAW_SEED)):
        drawn = await supervision.create_draw(
            session,
            ADMIN,
            DrawCreate(
                region_code="371602", institution_count=2, inspector_count=2, seed=DRAW_SEED
            ),
        )
        await supervision.publish_draw(session, ADMIN, drawn.id)

    counts = {
        name: await session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("institutions", Institution),
            ("staff", Staff),
            ("inspections", Inspection),
            ("bans", Ban),
        )
    }
    return ", ".join(f"{n} {name}" for name, n in counts.items()) + " (childcare)"


BENCH_PREFIX = "基准托育"


async def load_bench_data(session: AsyncSession, n: int = 5000) -> int:
    """Approved institutions spread over every township (with places, fees and an inspection),
    up to ``n`` of them, for the public-search benchmark. Idempotent; returns how many exist."""
    from services.childcare.models import Fee, Filing
    from shared.regions import townships

    existing = int(
        await session.scalar(
            select(func.count())
            .select_from(Institution)
            .where(Institution.name.startswith(BENCH_PREFIX))
        )
        or 0
    )
    rng = random.Random(n)
    places = townships()
    today = service.today()
    batch = 1000
    for start in range(existing, n, batch):
        rows = []
        for k in range(start, min(start + batch, n)):
            township = places[k % len(places)]
            county = township.code[:6]
            rows.append(
                {
                    "uscc": make_uscc(f"91{county}BK{k:07d}"),
                    "name": f"{BENCH_PREFIX}{k:06d}",
                    "region_code": township.code,
                    "nature": Nature.for_profit.value,
                    "registration_authority": RegistrationAuthority.market_regulation.value,
                    "form": rng.choice([f.value for f in Form if f is not Form.kindergarten_class]),
                    "address": f"{township.name}{k}号",
                    "lat": township.lat + rng.uniform(-0.03, 0.03),
                    "lon": township.lon + rng.uniform(-0.03, 0.03),
                    "phone": f"0543-{rng.randrange(2_000_000, 9_000_000)}",
                    "service_modes": rng.sample([m.value for m in ServiceMode], 2),
                    "facilities": FacilityFacts().model_dump(),
                    "demonstration": False,
                }
            )
        ids = list(
            await session.scalars(
                insert(Institution)
                .on_conflict_do_nothing(index_elements=[Institution.uscc])
                .returning(Institution.id, sort_by_parameter_order=True),
                rows,
            )
        )
        if not ids:
            continue
        await session.execute(
            insert(Filing),
            [
                {
                    "institution_id": iid,
                    "state": State.approved.value,
                    "version": 2,
                    "filing_number": f"托备-BENCH-{iid:08d}",
                    "filed_on": today,
                }
                for iid in ids
            ],
        )
        await session.execute(
            insert(Capacity),
            [
                {"institution_id": iid, "age_group": g.value, "capacity": 20, "enrolled": e}
                for iid in ids
                for g, e in zip(AgeGroup, (rng.randrange(21) for _ in AgeGroup), strict=False)
            ],
        )
        await session.execute(
            insert(Fee),
            [
                {
                    "institution_id": iid,
                    "service_mode": ServiceMode.full_day.value,
                    "period": "month",
                    "amount": Decimal(1200 + rng.randrange(0, 2000)),
                }
                for iid in ids
            ],
        )
        await session.execute(
            insert(Inspection),
            [
                {
                    "institution_id": iid,
                    "level": "county",
                    "inspected_on": today - timedelta(days=rng.randrange(1, 300)),
                    "inspector_ids": [],
                    "result": "pass",
                    "findings": [],
                    "created_by": "bench",
                }
                for iid in ids
            ],
        )
    return max(existing, n)
