"""The service-item catalog and the station types with their duties, as data.

Binzhou merged 40 business items into 34, all but the 2 manual-reimbursement items doable online
(seed). The item names are not in the seed documents; they are the usual items of a Shandong
medical-insurance agency's service guide. Duties by station type follow the seed's counts: the
county hall handles 23 items for employees and 14 for residents (the 34 items, 3 of which serve
both schemes), a township 9, a public hospital of tier 2+ 8, a non-public hospital 4, an
integrated village clinic 3, a grid worker 2. Where the seed gives no count (community stations,
primary medical institutions, enterprise stations) the duty lists are assumed and say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.schemas import Choice


class Scheme(Choice):
    employee = "employee"
    resident = "resident"
    both = "both"


class StationLevel(Choice):
    city = "city"
    county = "county"
    township = "township"
    village = "village"


@dataclass(frozen=True, slots=True)
class ItemSpec:
    code: str
    name: str
    scheme: Scheme
    online: bool = True


E, R, B = Scheme.employee, Scheme.resident, Scheme.both

SERVICE_ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("SI01", "参保登记（单位）", E),
    ItemSpec("SI02", "参保信息变更（单位）", E),
    ItemSpec("SI03", "异地就医备案", B),
    ItemSpec("SI04", "职工门诊慢特病待遇认定", E),
    ItemSpec("SI05", "职工医疗费用手工（零星）报销", E, online=False),
    ItemSpec("SI06", "职工参保登记（人员增加）", E),
    ItemSpec("SI07", "职工停保（人员减少）", E),
    ItemSpec("SI08", "职工参保信息变更", E),
    ItemSpec("SI09", "职工医保缴费基数申报", E),
    ItemSpec("SI10", "灵活就业人员参保登记", E),
    ItemSpec("SI11", "灵活就业人员医保缴费", E),
    ItemSpec("SI12", "职工医保补缴", E),
    ItemSpec("SI13", "退休人员医保待遇核定", E),
    ItemSpec("SI14", "生育津贴申领", E),
    ItemSpec("SI15", "生育医疗费用报销", E),
    ItemSpec("SI16", "职工医保个人账户家庭共济备案", E),
    ItemSpec("SI17", "职工大额医疗费用补助待遇申请", E),
    ItemSpec("SI18", "职工医保个人账户一次性支取", E),
    ItemSpec("SI19", "单位医保缴费核定", E),
    ItemSpec("SI20", "职工医保关系转移接续", E),
    ItemSpec("SI21", "职工医保参保地变更", E),
    ItemSpec("SI22", "城乡居民参保登记", R),
    ItemSpec("SI23", "城乡居民参保信息变更", R),
    ItemSpec("SI24", "城乡居民医保缴费", R),
    ItemSpec("SI25", "城乡居民门诊慢特病待遇认定", R),
    ItemSpec("SI26", "城乡居民“两病”门诊用药保障认定", R),
    ItemSpec("SI27", "城乡居民医疗费用手工（零星）报销", R, online=False),
    ItemSpec("SI28", "城乡居民大病保险待遇申请", R),
    ItemSpec("SI29", "医疗救助申请", R),
    ItemSpec("SI30", "新生儿参保登记", R),
    ItemSpec("SI31", "财政代缴人员参保核定", R),
    ItemSpec("SI32", "城乡居民医保个人缴费退费", R),
    ItemSpec("SI33", "医保电子凭证激活", B),
    ItemSpec("SI34", "参保证明打印", B),
)


@dataclass(frozen=True, slots=True)
class StationTypeSpec:
    code: str
    name: str
    level: StationLevel
    items: tuple[str, ...]
    seeded: int
    """How many stations of this type the demo network has (seed), 0 where the seed names
    the type but gives no count."""
    assumed: bool = False
    """Whether the duty list is ours rather than the seed's."""


_ALL = tuple(item.code for item in SERVICE_ITEMS)

STATION_TYPES: tuple[StationTypeSpec, ...] = (
    StationTypeSpec("county_hall", "县级医保经办大厅", StationLevel.county, _ALL, 0),
    StationTypeSpec(
        "township",
        "乡镇（街道）医保服务站",
        StationLevel.township,
        ("SI03", "SI22", "SI23", "SI24", "SI25", "SI26", "SI27", "SI29", "SI30"),
        90,
    ),
    StationTypeSpec(
        "community",
        "社区医保服务站",
        StationLevel.village,
        ("SI03", "SI22", "SI24", "SI33", "SI34"),
        28,
        assumed=True,
    ),
    StationTypeSpec(
        "public_hospital",
        "二级以上公立医院医保服务站",
        StationLevel.county,
        ("SI03", "SI04", "SI15", "SI17", "SI25", "SI26", "SI28", "SI33"),
        26,
    ),
    StationTypeSpec(
        "private_hospital",
        "非公立医院医保服务站",
        StationLevel.county,
        ("SI03", "SI04", "SI25", "SI33"),
        32,
    ),
    StationTypeSpec(
        "primary_medical",
        "基层医疗机构医保服务站",
        StationLevel.township,
        ("SI03", "SI25", "SI26", "SI33"),
        92,
        assumed=True,
    ),
    StationTypeSpec(
        "village_clinic",
        "一体化村卫生室医保服务点",
        StationLevel.village,
        ("SI24", "SI26", "SI33"),
        1484,
    ),
    StationTypeSpec("grid_worker", "全科大网格网格员", StationLevel.village, ("SI24", "SI33"), 0),
    StationTypeSpec(
        "enterprise",
        "驻企医保服务站",
        StationLevel.county,
        ("SI03", "SI06", "SI07", "SI08", "SI20", "SI34"),
        0,
        assumed=True,
    ),
)

SEEDED_STATIONS = sum(t.seeded for t in STATION_TYPES)
"""1,752 (seed)."""


def station_type(code: str) -> StationTypeSpec | None:
    return next((t for t in STATION_TYPES if t.code == code), None)


def scheme_counts(items: Iterable[str], schemes: Mapping[str, Scheme]) -> dict[Scheme, int]:
    """Items handled for employees and for residents (an item for both counts in each), the
    figures the seed states for the county hall."""
    codes = list(items)
    return {
        Scheme.employee: sum(schemes[c] in (E, B) for c in codes),
        Scheme.resident: sum(schemes[c] in (R, B) for c in codes),
    }


def duty_counts(type_code: str) -> dict[Scheme, int]:
    spec = station_type(type_code)
    if spec is None:
        raise KeyError(type_code)
    return scheme_counts(spec.items, {item.code: item.scheme for item in SERVICE_ITEMS})
