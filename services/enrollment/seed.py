"""Demo data for enrollment, and the bulk load of the eligibility benchmark.

Idempotent: persons are inserted on their ID number, employers on their credit code, and the
coverage, approvals, filings, contributions and transfers only while no seeded coverage exists.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.models import (
    Contribution,
    ContributionBatch,
    Coverage,
    Employer,
    OffsiteFiling,
    Person,
    Qualification,
    Transfer,
)
from shared.regions import counties, townships
from shared.validators import USCC_ALPHABET, is_male, make_id_number, make_uscc

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅文辉鹏飞玲燕志红丹宁波斌"

DEMO_PERSONS = 3000
SEED_BY = "seed"
REFERENCE_DAY = date(2026, 1, 1)
"""Ages, retirements and "current" periods of the demo are computed against this day, so the
data is the same whenever it is loaded."""

EMPLOYER_NAMES = (
    "滨州魏桥纺织股份有限公司",
    "山东京博控股集团有限公司",
    "滨州渤海活塞有限公司",
    "山东西王集团有限公司",
    "中海沥青股份有限公司",
    "滨州医学院附属医院",
    "山东鲁北企业集团总公司",
    "滨州市城市建设投资有限公司",
    "山东滨化集团有限责任公司",
    "中裕食品有限公司",
    "滨州市北海新区某物流有限公司",
    "滨城区某社区便利店",
)
CHRONIC_CODES = ("I25", "I63", "J44", "N18", "C34", "F20", "M05", "B18", "E11", "G20")
OFFSITE_REGIONS = ("110105", "310115", "440305", "370102", "370202", "120101", "320106")


def demo_people(count: int, seed: int = 3716) -> list[dict[str, object]]:
    """Deterministic: the first ``k`` of ``demo_people(n)`` are ``demo_people(k)``."""
    rng = random.Random(seed)
    regions = townships()
    people: list[dict[str, object]] = []
    used: set[str] = set()
    while len(people) < count:
        township = rng.choice(regions)
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 88))
        id_number = make_id_number(
            township.parent or township.code[:6], born, rng.randrange(1, 999)
        )
        if id_number in used:
            continue
        used.add(id_number)
        people.append(
            {
                "id_number": id_number,
                "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                "birth_date": born,
                "region_code": township.code,
                "phone": f"13{rng.randrange(10**8, 10**9)}",
                "poverty": rng.random() < 0.03,
            }
        )
    return people


def demo_employers(seed: int = 1602) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for i, name in enumerate(EMPLOYER_NAMES):
        county = counties()[i % len(counties())].code
        org = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        out.append({"uscc": make_uscc(f"91{county}{org}"), "name": name, "region_code": county})
    return out


def _age(born: date, on: date = REFERENCE_DAY) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def demo_records(
    people: list[tuple[int, str, date, bool]], employers: list[str], seed: int = 16
) -> dict[str, list[dict[str, Any]]]:
    """Coverage, approvals, filings, contributions and transfers for (id, ID number, birth, poverty)."""
    rng = random.Random(seed)
    by = {"recorded_by": SEED_BY}
    out: dict[str, list[dict[str, Any]]] = {
        "coverages": [],
        "qualifications": [],
        "filings": [],
        "contributions": [],
        "transfers": [],
    }
    for person_id, id_number, born, poverty in people:
        age = _age(born)
        adult_from = max(date(born.year + 18, born.month, min(born.day, 28)), date(1998, 1, 1))
        retirement_age = 60 if is_male(id_number) else 55
        employee = not poverty and age >= 18 and rng.random() < 0.45
        roll = rng.random()
        if employee:
            start = adult_from + timedelta(days=rng.randrange(0, 3000))
            start = min(start, REFERENCE_DAY - timedelta(days=30))
            if roll < 0.15 and start < date(2018, 1, 1):
                # A resident first, then a gap, then employed: exercises gaps in eligibility.
                out["coverages"].append(
                    {"person_id": person_id, "scheme": "resident", "start_date": start,
                     "end_date": start + timedelta(days=364), "retired": False,
                     "employer_uscc": None, **by}
                )  # fmt: skip
                start = start + timedelta(days=365 + rng.randrange(30, 400))
            retired = age >= retirement_age
            ended = not retired and roll > 0.95
            out["coverages"].append(
                {"person_id": person_id, "scheme": "employee", "start_date": start,
                 "end_date": date(2025, 6, 30) if ended and start < date(2025, 6, 30) else None,
                 "retired": retired, "employer_uscc": rng.choice(employers), **by}
            )  # fmt: skip
        else:
            start = max(date(born.year, born.month, min(born.day, 28)), date(2016, 1, 1))
            out["coverages"].append(
                {"person_id": person_id, "scheme": "resident", "start_date": start,
                 "end_date": None, "retired": False, "employer_uscc": None, **by}
            )  # fmt: skip
            if not poverty:
                for year in (2025, 2026):
                    out["contributions"].append(
                        {"person_id": person_id, "year": year, "scheme": "resident",
                         "payer": "person", "amount": Decimal("380.00") + 20 * (year - 2025),
                         "paid_on": date(year - 1, 12, rng.randrange(1, 29)), "batch_id": None,
                         **by}
                    )  # fmt: skip
        if age >= 40 and rng.random() < 0.12:
            out["qualifications"].append(
                {"person_id": person_id, "kind": "two_disease",
                 "disease_code": rng.choice(("hypertension", "diabetes")),
                 "start_date": date(2024, rng.randrange(1, 13), 1), "end_date": None, **by}
            )  # fmt: skip
        if age >= 30 and rng.random() < 0.04:
            first = date(2023, rng.randrange(1, 13), rng.randrange(1, 29))
            out["qualifications"].append(
                {"person_id": person_id, "kind": "chronic",
                 "disease_code": rng.choice(CHRONIC_CODES), "start_date": first,
                 "end_date": first + timedelta(days=3 * 365 - 1), **by}
            )  # fmt: skip
        if rng.random() < 0.03:
            kind = rng.choice(("long_term", "long_term", "referral", "emergency"))
            first = date(2025, rng.randrange(1, 13), rng.randrange(1, 29))
            days = {"long_term": 730, "referral": 90, "emergency": 14}[kind]
            out["filings"].append(
                {"person_id": person_id, "kind": kind,
                 "destination_region": rng.choice(OFFSITE_REGIONS), "start_date": first,
                 "end_date": first + timedelta(days=days - 1), **by}
            )  # fmt: skip
        if rng.random() < 0.004:
            out["transfers"].append(
                {"person_id": person_id, "direction": rng.choice(("in", "out")),
                 "other_region": rng.choice(OFFSITE_REGIONS),
                 "effective_date": date(2026, rng.randrange(1, 13), 1),
                 "state": rng.choice(("requested", "approved", "rejected")), "reason": None, **by}
            )  # fmt: skip
    return out


async def _insert_many(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 1000):
        await session.execute(insert(table), rows[start : start + 1000])


async def seed(session: AsyncSession, persons: int = DEMO_PERSONS) -> str:
    rows = demo_people(persons)
    for start in range(0, len(rows), 1000):
        await session.execute(
            pg_insert(Person).on_conflict_do_nothing(), rows[start : start + 1000]
        )
    employers = demo_employers()
    await session.execute(pg_insert(Employer).on_conflict_do_nothing(), employers)
    seeded = select(func.count()).select_from(Coverage).where(Coverage.recorded_by == SEED_BY)
    if await session.scalar(seeded):
        count = await session.scalar(select(func.count()).select_from(Person))
        return f"{count} persons already there"

    demo_ids = [str(r["id_number"]) for r in rows]
    people = [
        (p.id, p.id_number, p.birth_date, p.poverty)
        for p in await session.scalars(
            select(Person).where(Person.id_number.in_(demo_ids)).order_by(Person.id)
        )
    ]
    records = demo_records(people, [str(e["uscc"]) for e in employers])
    await _insert_many(session, Coverage, records["coverages"])
    await _insert_many(session, Qualification, records["qualifications"])
    await _insert_many(session, OffsiteFiling, records["filings"])
    await _insert_many(session, Transfer, records["transfers"])

    # 财政代缴 for the demo's poverty persons, at the Boshan rate (5.85 M yuan / 17,495 people).
    poverty_ids = [p[0] for p in people if p[3]]
    for year in (2025, 2026):
        batch = ContributionBatch(
            year=year,
            amount_per_person=Decimal("334.38"),
            persons=len(poverty_ids),
            total=Decimal("334.38") * len(poverty_ids),
            recorded_by=SEED_BY,
        )
        session.add(batch)
        await session.flush()
        records["contributions"].extend(
            {"person_id": pid, "year": year, "scheme": "resident", "payer": "government",
             "amount": Decimal("334.38"), "paid_on": date(year, 1, 15), "batch_id": batch.id,
             "recorded_by": SEED_BY}
            for pid in poverty_ids
        )  # fmt: skip
    await _insert_many(session, Contribution, records["contributions"])
    return (
        f"{len(people)} persons, {len(employers)} employers, "
        f"{len(records['coverages'])} coverage periods, "
        f"{len(records['qualifications'])} qualifications, {len(records['filings'])} filings, "
        f"{len(records['contributions'])} contributions, {len(poverty_ids)} poverty persons"
    )


# --- benchmark data --------------------------------------------------------------------------

_BENCH_BIRTH_REGIONS = (
    "370102", "370103", "370202", "370211", "370302",
    "370305", "370602", "370702", "370811", "371002",
)  # fmt: skip
"""Birth regions outside the city: the demo's ID numbers all start with 3716, so these never clash."""
BENCH_EMPLOYER = make_uscc("91371602BENCH0001")


def bench_person(index: int) -> tuple[str, str, date, str]:
    """(ID number, name, birth date, region) of bench person ``index``; distinct for distinct indexes."""
    k, region = divmod(index, len(_BENCH_BIRTH_REGIONS))
    day, block = (k * 7919) % 29000, k // 29000  # 7919 is prime to 29000: a bijection per block
    born = date(1945, 1, 1) + timedelta(days=day)
    id_number = make_id_number(_BENCH_BIRTH_REGIONS[region], born, 1 + block * 7 + index % 7)
    township = townships()[index % len(townships())]
    return id_number, f"压测{index}", born, township.code


async def load_bench_data(session: AsyncSession, n: int = 100_000) -> str:
    """Persons up to ``n`` in all, each with an open coverage period (40% employee), a tenth with
    a two-disease approval and one in fifty with an off-site filing. COPY into a temporary table,
    then set-based inserts; a second call adds nothing."""
    existing = await session.scalar(select(func.count()).select_from(Person)) or 0
    if existing >= n:
        return f"{existing} persons already there"
    await session.execute(
        pg_insert(Employer).on_conflict_do_nothing(),
        [{"uscc": BENCH_EMPLOYER, "name": "压测用人单位", "region_code": "371602"}],
    )
    before = await session.scalar(select(func.max(Person.id))) or 0
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE bench_persons (id_number varchar(18), name varchar(100), "
            "birth_date date, region_code varchar(12), poverty boolean) ON COMMIT DROP"
        )
    )
    records = []
    for i in range(n - existing):
        id_number, name, born, region = bench_person(i)
        records.append((id_number, name, born, region, i % 50 == 0))
    await driver.copy_records_to_table(
        "bench_persons",
        records=records,
        columns=["id_number", "name", "birth_date", "region_code", "poverty"],
    )
    await session.execute(
        text(
            "INSERT INTO persons (id_number, name, birth_date, region_code, poverty) "
            "SELECT id_number, name, birth_date, region_code, poverty FROM bench_persons "
            "ON CONFLICT (id_number) DO NOTHING"
        )
    )
    params = {"before": before, "uscc": BENCH_EMPLOYER}
    await session.execute(
        text(
            """
            INSERT INTO coverages (person_id, scheme, start_date, retired, employer_uscc,
                                   recorded_by)
            SELECT id,
                   CASE WHEN id % 5 < 2 THEN 'employee' ELSE 'resident' END,
                   date '2010-01-01' + (id % 4000)::int,
                   id % 5 = 0,
                   CASE WHEN id % 5 < 2 THEN :uscc END,
                   'bench'
              FROM persons
             WHERE id > :before
            """
        ),
        params,
    )
    await session.execute(
        text(
            """
            INSERT INTO qualifications (person_id, kind, disease_code, start_date, recorded_by)
            SELECT id, 'two_disease',
                   CASE WHEN id % 20 = 0 THEN 'hypertension' ELSE 'diabetes' END,
                   date '2024-01-01', 'bench'
              FROM persons WHERE id > :before AND id % 10 = 0
            """
        ),
        {"before": before},
    )
    await session.execute(
        text(
            """
            INSERT INTO offsite_filings (person_id, kind, destination_region, start_date,
                                         end_date, recorded_by)
            SELECT id, 'long_term', '110105', date '2025-01-01', date '2027-12-31', 'bench'
              FROM persons WHERE id > :before AND id % 50 = 7
            """
        ),
        {"before": before},
    )
    await session.execute(text("ANALYZE persons, coverages, qualifications, offsite_filings"))
    total = await session.scalar(select(func.count()).select_from(Person))
    return f"{total} persons"
