"""The demo city: one reference list of counties and townships every service uses.

A Binzhou-like prefecture-level city (滨州市, code 3716) with its seven county-level divisions and
their townships/streets. Township codes extend the county code to 9 digits (GB/T 2260 practice);
villages, which each service's demo data makes, extend those to 12. Anything outside the city
(a region code not starting with :data:`CITY_CODE`) is off-site (异地).

Centroids are approximate: the county seats are near the real ones and townships are spread
around them, which is what the demo's distance searches need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

CITY_CODE = "3716"
CITY_NAME = "滨州市"
CITY_CENTER = (37.383, 117.970)


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    level: str  # county | township
    lat: float
    lon: float
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class _County:
    code: str
    name: str
    name_en: str
    lat: float
    lon: float
    townships: tuple[str, ...]


_COUNTIES = (
    _County(
        "371602",
        "滨城区",
        "Bincheng District",
        37.432,
        118.020,
        (
            "市中街道",
            "市东街道",
            "市西街道",
            "北镇街道",
            "彭李街道",
            "滨北街道",
            "梁才街道",
            "杜店街道",
            "沙河街道",
            "里则街道",
            "小营街道",
            "三河湖镇",
            "杨柳雪镇",
            "秦皇台乡",
        ),
    ),
    _County(
        "371603",
        "沾化区",
        "Zhanhua District",
        37.698,
        118.133,
        (
            "富国街道",
            "富源街道",
            "下洼镇",
            "古城镇",
            "冯家镇",
            "泊头镇",
            "大高镇",
            "黄升镇",
            "滨海镇",
        ),
    ),
    _County(
        "371621",
        "惠民县",
        "Huimin County",
        37.490,
        117.510,
        (
            "孙武街道",
            "武定府街道",
            "何坊街道",
            "石庙镇",
            "桑落墅镇",
            "淄角镇",
            "胡集镇",
            "李庄镇",
            "麻店镇",
            "魏集镇",
            "清河镇",
            "姜楼镇",
            "辛店镇",
            "大年陈镇",
            "皂户李镇",
        ),
    ),
    _County(
        "371622",
        "阳信县",
        "Yangxin County",
        37.641,
        117.578,
        (
            "信城街道",
            "金阳街道",
            "河流镇",
            "温店镇",
            "商店镇",
            "劳店镇",
            "水落坡镇",
            "翟王镇",
            "流坡坞镇",
            "洋湖乡",
        ),
    ),
    _County(
        "371623",
        "无棣县",
        "Wudi County",
        37.770,
        117.625,
        (
            "海丰街道",
            "棣丰街道",
            "车王镇",
            "柳堡镇",
            "碣石山镇",
            "小泊头镇",
            "埕口镇",
            "马山子镇",
            "水湾镇",
            "信阳镇",
            "西小王镇",
            "佘家镇",
        ),
    ),
    _County(
        "371625",
        "博兴县",
        "Boxing County",
        37.150,
        118.110,
        (
            "博昌街道",
            "城东街道",
            "锦秋街道",
            "曹王镇",
            "兴福镇",
            "陈户镇",
            "湖滨镇",
            "店子镇",
            "吕艺镇",
            "纯化镇",
            "庞家镇",
            "乔庄镇",
        ),
    ),
    _County(
        "371681",
        "邹平市",
        "Zouping City",
        36.863,
        117.743,
        (
            "黛溪街道",
            "黄山街道",
            "高新街道",
            "好生街道",
            "西董街道",
            "长山镇",
            "魏桥镇",
            "临池镇",
            "焦桥镇",
            "韩店镇",
            "孙镇",
            "九户镇",
            "青阳镇",
            "明集镇",
            "台子镇",
            "码头镇",
        ),
    ),
)

_GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))


@cache
def counties() -> tuple[Region, ...]:
    return tuple(Region(c.code, c.name, "county", c.lat, c.lon) for c in _COUNTIES)


@cache
def townships() -> tuple[Region, ...]:
    out = []
    for county in _COUNTIES:
        for i, name in enumerate(county.townships, start=1):
            # Streets (街道) sit in the county seat, towns further out, on a spiral so they
            # never coincide.
            radius = 0.02 + 0.018 * i if name.endswith("街道") else 0.05 + 0.02 * i
            angle = i * _GOLDEN_ANGLE
            out.append(
                Region(
                    code=f"{county.code}{i:03d}",
                    name=name,
                    level="township",
                    lat=round(county.lat + radius * math.sin(angle), 5),
                    lon=round(county.lon + radius * math.cos(angle) * 1.25, 5),
                    parent=county.code,
                )
            )
    return tuple(out)


@cache
def _by_code() -> dict[str, Region]:
    return {r.code: r for r in (*counties(), *townships())}


def region(code: str) -> Region | None:
    """The county or township with this code, or None."""
    return _by_code().get(code)


def county_of(code: str) -> str:
    return code[:6]


def is_in_city(region_code: str) -> bool:
    """Whether a 6/9/12-digit region code lies in the demo city; anything else is off-site."""
    return region_code.startswith(CITY_CODE)


def is_known_in_city(region_code: str) -> bool:
    """In the city and its county (and township, if given) is on the reference list."""
    if not is_in_city(region_code):
        return False
    if county_of(region_code) not in _by_code():
        return False
    return len(region_code) < 9 or region_code[:9] in _by_code()
