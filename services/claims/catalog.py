"""The drug catalog (医保药品目录) with national procurement (集采) batches: demo data and search."""

from __future__ import annotations

import random
import re
from decimal import ROUND_HALF_UP, Decimal

from pypinyin import Style, lazy_pinyin
from sqlalchemy import Select, or_, select

from services.claims.models import Drug

BATCH_1 = [
    "阿托伐他汀钙片",
    "瑞舒伐他汀钙片",
    "氯吡格雷片",
    "厄贝沙坦片",
    "氨氯地平片",
    "恩替卡韦分散片",
    "艾司西酞普兰片",
    "帕罗西汀片",
    "奥氮平片",
    "头孢呋辛酯片",
    "利培酮片",
    "吉非替尼片",
    "福辛普利钠片",
    "厄贝沙坦氢氯噻嗪片",
    "赖诺普利片",
    "替诺福韦二吡呋酯片",
    "氯沙坦钾片",
    "依那普利片",
    "左乙拉西坦片",
    "伊马替尼片",
    "孟鲁司特钠片",
    "蒙脱石散",
    "注射用培美曲塞二钠",
    "右美托咪定注射液",
    "氟比洛芬酯注射液",
]
BATCH_2 = [
    "阿卡波糖片",
    "阿莫西林胶囊",
    "阿奇霉素片",
    "阿昔洛韦片",
    "奥美沙坦酯片",
    "比索洛尔片",
    "吡格列酮片",
    "对乙酰氨基酚片",
    "多奈哌齐片",
    "二甲双胍片",
    "非布司他片",
    "格列美脲片",
    "克拉霉素片",
    "克林霉素胶囊",
    "来曲唑片",
    "利伐沙班片",
    "美洛昔康片",
    "莫西沙星片",
    "那格列奈片",
    "尼莫地平片",
    "坦索罗辛缓释胶囊",
    "特比萘芬片",
    "替吉奥胶囊",
    "头孢拉定胶囊",
    "西地那非片",
    "异烟肼片",
    "吲达帕胺片",
    "左西替利嗪片",
    "卡培他滨片",
    "福多司坦片",
    "阿比特龙片",
    "沙格列汀片",
]
BATCH_3 = [
    "阿司匹林肠溶片",
    "奥美拉唑肠溶胶囊",
    "泮托拉唑钠肠溶片",
    "兰索拉唑肠溶片",
    "雷贝拉唑钠肠溶片",
    "埃索美拉唑镁肠溶片",
    "二甲双胍缓释片",
    "格列齐特缓释片",
    "格列吡嗪控释片",
    "瑞格列奈片",
    "西格列汀片",
    "缬沙坦胶囊",
    "替米沙坦片",
    "坎地沙坦酯片",
    "硝苯地平控释片",
    "非洛地平缓释片",
    "美托洛尔缓释片",
    "卡维地洛片",
    "螺内酯片",
    "呋塞米片",
    "托拉塞米片",
    "辛伐他汀片",
    "普伐他汀钠片",
    "匹伐他汀钙片",
    "依折麦布片",
    "非诺贝特胶囊",
    "氯雷他定片",
    "西替利嗪片",
    "布洛芬缓释胶囊",
    "塞来昔布胶囊",
    "曲马多缓释片",
    "加巴喷丁胶囊",
    "普瑞巴林胶囊",
    "丙戊酸钠缓释片",
    "拉莫三嗪片",
    "奥卡西平片",
    "舍曲林片",
    "文拉法辛缓释胶囊",
    "度洛西汀肠溶胶囊",
    "米氮平片",
    "喹硫平片",
    "阿立哌唑片",
    "左氧氟沙星片",
    "环丙沙星片",
    "头孢克肟胶囊",
    "头孢地尼胶囊",
    "头孢丙烯片",
    "阿莫西林克拉维酸钾片",
    "甲硝唑片",
    "氟康唑胶囊",
    "伐昔洛韦片",
    "奥司他韦胶囊",
    "别嘌醇片",
    "碳酸钙D3片",
    "氨氯地平阿托伐他汀钙片",
]
NOT_PROCURED = [
    "复方丹参滴丸",
    "银杏叶片",
    "胰岛素注射液",
    "硫酸氢氯吡格雷阿司匹林片",
    "甘精胰岛素注射液",
    "门冬胰岛素注射液",
    "达格列净片",
    "恩格列净片",
    "沙库巴曲缬沙坦钠片",
    "替格瑞洛片",
    "阿哌沙班片",
    "托法替布片",
    "奥希替尼片",
    "安罗替尼胶囊",
    "布地奈德福莫特罗吸入粉雾剂",
    "噻托溴铵吸入粉雾剂",
    "复方甘草片",
    "板蓝根颗粒",
    "六味地黄丸",
    "连花清瘟胶囊",
]
OVER_THE_COUNTER = {"对乙酰氨基酚片", "蒙脱石散", "氯雷他定片", "西替利嗪片", "碳酸钙D3片"}
OVER_THE_COUNTER |= {"复方甘草片", "板蓝根颗粒", "六味地黄丸", "银杏叶片"}
MANUFACTURERS = [
    "北京嘉林药业股份有限公司",
    "浙江华海药业股份有限公司",
    "齐鲁制药有限公司",
    "石药集团欧意药业有限公司",
    "扬子江药业集团有限公司",
    "正大天晴药业集团股份有限公司",
    "江苏恒瑞医药股份有限公司",
    "山东新华制药股份有限公司",
    "华北制药股份有限公司",
    "信立泰药业股份有限公司",
    "鲁南制药集团股份有限公司",
    "瑞阳制药股份有限公司",
]

CENT = Decimal("0.01")


def initials(name: str) -> str:
    """Pinyin initials, lower case: 阿托伐他汀钙片 → atftgp (letters and digits kept as they are)."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


def _form(name: str) -> str:
    for suffix, form in (
        ("注射液", "注射剂"),
        ("注射用", "注射剂"),
        ("胶囊", "胶囊剂"),
        ("颗粒", "颗粒剂"),
        ("散", "散剂"),
        ("滴丸", "丸剂"),
        ("丸", "丸剂"),
        ("粉雾剂", "吸入剂"),
    ):
        if suffix in name:
            return form
    return "片剂"


def _batch_cut(rng: random.Random, batch: int | None) -> Decimal:
    # Cuts around the seed's averages: batch 2 74.45%, batch 3 53% (up to 95%).
    if batch == 1:
        value = rng.uniform(30, 96)
    elif batch == 2:
        value = rng.uniform(55, 94)
    else:
        value = rng.triangular(10, 95, 54)
    return Decimal(str(value)).quantize(CENT)


def demo_drugs(seed: int = 3716) -> list[dict[str, object]]:
    """Batch 1: 25 drugs, batch 2: 32, batch 3: 55 (XA0001..XA0055, which pharmacies stock),
    plus catalog drugs not procured. Deterministic."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    batches: list[tuple[str, int | None, list[str]]] = [
        ("XA", 3, BATCH_3),
        ("XB", 1, BATCH_1),
        ("XB", 2, BATCH_2),
        ("XC", None, NOT_PROCURED),
    ]
    numbers = {"XA": 0, "XB": 0, "XC": 0}
    for prefix, batch, names in batches:
        for name in names:
            numbers[prefix] += 1
            original = Decimal(rng.randrange(800, 30000)) / 100
            row: dict[str, object] = {
                "code": f"{prefix}{numbers[prefix]:04d}",
                "generic_name": name,
                "pinyin_initials": initials(name),
                "dosage_form": _form(name),
                "specification": rng.choice(["10mg*28片", "20mg*7片", "0.5g*24粒", "5mg*30片"]),
                "manufacturer": rng.choice(MANUFACTURERS),
                "category": "A" if rng.random() < 0.7 else "B",
                "procured": batch is not None,
                "procurement_batch": batch,
                "original_price": original,
                "prescription_only": name not in OVER_THE_COUNTER,
                "daily_limit": Decimal(rng.choice([2, 3, 4, 6])),
            }
            if batch is not None:
                cut = Decimal("95.00") if name == "阿司匹林肠溶片" else _batch_cut(rng, batch)
                winning = max(
                    CENT, (original * (1 - cut / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
                )
                row |= {
                    "winning_bid_price": winning,
                    "cut_percent": ((original - winning) / original * 100).quantize(CENT),
                    "payment_standard": winning,
                }
            else:
                row |= {
                    "winning_bid_price": None,
                    "cut_percent": None,
                    "payment_standard": original,
                }
            rows.append(row)
    return rows


_ASCII = re.compile(r"^[A-Za-z0-9]+$")


def search(q: str | None, procured: bool | None) -> Select[Drug]:
    """By code prefix, pinyin-initials prefix, or (Chinese) any part of the generic name."""
    statement = select(Drug)
    if q:
        q = q.strip()
        if _ASCII.match(q):
            statement = statement.where(
                or_(Drug.code.startswith(q.upper()), Drug.pinyin_initials.startswith(q.lower()))
            )
        else:
            statement = statement.where(Drug.generic_name.contains(q, autoescape=True))
    if procured is not None:
        statement = statement.where(Drug.procured.is_(procured))
    return statement
