"""Demo data for enrollment. Idempotent: a second run adds nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.models import Person
from shared.regions import townships
from shared.validators import make_id_number

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅文辉鹏飞玲燕志红丹宁波斌"


def demo_people(count: int, seed: int = 3716) -> list[dict[str, object]]:
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


async def seed(session: AsyncSession, persons: int = 2000) -> str:
    existing = await session.scalar(select(func.count()).select_from(Person))
    if existing:
        return f"{existing} persons already there"
    rows = demo_people(persons)
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Person).on_conflict_do_nothing(), rows[start : start + 1000])
    return f"{len(rows)} persons"
