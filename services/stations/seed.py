"""Demo data for stations, in the shape of Binzhou's network (seed): the villages of the demo
city, the 34 service items and station types with their duties, 1,752 stations, designated
hospitals of every tier (a few off-site) and 207 pharmacies stocking ~36 of 55 procured drugs.

Everything is generated deterministically (``random.Random`` with fixed string seeds), and
every insert skips rows already there, so running the seed twice adds nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.stations.catalog import SERVICE_ITEMS, STATION_TYPES, station_type
from services.stations.domain.codes import InstitutionKind, make_institution_code
from services.stations.models import (
    SEEDED_ID_CEILING,
    Institution,
    InventoryRow,
    Region,
    ServiceItem,
    Station,
    StationItem,
    StationType,
    StationTypeItem,
)
from shared.money import round_money
from shared.regions import CITY_CODE, counties, townships
from shared.regions import Region as CityRegion

AREA_CODE = "0543"
"""Binzhou's telephone area code."""

OFFICE_HOURS = "Mo-Fr 08:30-12:00,13:30-17:30"
HOSPITAL_HOURS = "Mo-Su 08:00-17:30"
CLINIC_HOURS = "Mo-Sa 08:00-11:30,14:00-17:00"

PROCURED_DRUGS = tuple(f"XA{n:04d}" for n in range(1, 56))
"""The 55 procured drugs Binzhou put into pharmacies (seed). The claims catalog seeds the same
codes, and ``yibao seed`` hands stations its payment standards (see :func:`demo_inventory`)."""

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭"
VILLAGE_SUFFIXES = ("家村", "庄村", "集村", "楼村", "店村", "家庄", "王村", "刘村", "官庄")


def _rng(*parts: object) -> random.Random:
    return random.Random("stations:" + ":".join(str(p) for p in parts))


def _phone(rng: random.Random) -> str:
    return f"{AREA_CODE}-{rng.randrange(2_000_000, 9_000_000)}"


def _near(rng: random.Random, lat: float, lon: float, max_deg: float) -> tuple[float, float]:
    """A point within ~max_deg of (lat, lon), longitude stretched for the latitude."""
    angle = rng.uniform(0, 2 * math.pi)
    radius = max_deg * math.sqrt(rng.random())
    scale = 1 / math.cos(math.radians(lat))
    return round(lat + radius * math.sin(angle), 6), round(
        lon + radius * math.cos(angle) * scale, 6
    )


# --- regions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Village:
    code: str
    name: str
    township: CityRegion
    lat: float
    lon: float
    population: int

    @property
    def is_community(self) -> bool:
        """Streets (街道) have communities (社区); towns have villages (村)."""
        return self.township.name.endswith("街道")


def demo_villages() -> list[Village]:
    """12-digit village codes under each township: population and a location near it."""
    out: list[Village] = []
    for township in townships():
        rng = _rng("villages", township.code)
        street = township.name.endswith("街道")
        count = rng.randint(6, 12) if street else rng.randint(22, 32)
        names: set[str] = set()
        for k in range(1, count + 1):
            if street:
                name = f"{township.name.removesuffix('街道')}第{k}社区"
                population = rng.randint(2_000, 8_000)
            else:
                name = rng.choice(SURNAMES) + rng.choice(VILLAGE_SUFFIXES)
                if name in names:
                    name = f"{name}{k}"
                population = rng.randint(300, 2_600)
            names.add(name)
            lat, lon = _near(rng, township.lat, township.lon, 0.012 if street else 0.04)
            out.append(Village(f"{township.code}{k:03d}", name, township, lat, lon, population))
    return out


def region_rows(villages: Sequence[Village]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"code": c.code, "name": c.name, "level": "county", "parent_code": CITY_CODE,
         "lat": c.lat, "lon": c.lon, "population": None}
        for c in counties()
    ]  # fmt: skip
    rows += [
        {"code": t.code, "name": t.name, "level": "township", "parent_code": t.parent,
         "lat": t.lat, "lon": t.lon, "population": None}
        for t in townships()
    ]  # fmt: skip
    rows += [
        {"code": v.code, "name": v.name, "level": "village", "parent_code": v.township.code,
         "lat": v.lat, "lon": v.lon, "population": v.population}
        for v in villages
    ]  # fmt: skip
    return rows


# --- institutions and stations ---------------------------------------------------------------

OFFSITE_HOSPITALS: tuple[tuple[str, str, int, float, float], ...] = (
    ("370102", "山东大学齐鲁医院", 3, 36.662, 117.016),
    ("370102", "山东省立医院", 3, 36.666, 117.001),
    ("370103", "济南市中心医院", 3, 36.649, 116.994),
    ("370304", "淄博市博山区医院", 2, 36.494, 117.862),
    ("110102", "北京协和医院西院", 3, 39.913, 116.352),
)
"""Off-site (异地) hospitals people from the city are referred to."""

PUBLIC_HOSPITALS_PER_COUNTY = {
    "371602": 6, "371603": 3, "371621": 4, "371622": 3, "371623": 3, "371625": 3, "371681": 4,
}  # fmt: skip
"""26 public hospitals of tier 2+ (seed), most in the city district."""

PHARMACIES_PER_COUNTY = {
    "371602": 48, "371603": 22, "371621": 30, "371622": 22, "371623": 24, "371625": 27, "371681": 34,
}  # fmt: skip
"""207 pharmacies selling procured drugs (seed)."""


@dataclass
class DemoNetwork:
    stations: list[dict[str, Any]]
    station_items: list[dict[str, Any]]
    institutions: list[dict[str, Any]]


class _Codes:
    """The next free sequence of H/P codes per county."""

    def __init__(self) -> None:
        self.next: dict[tuple[InstitutionKind, str], int] = {}

    def take(self, kind: InstitutionKind, county: str) -> str:
        sequence = self.next.get((kind, county), 1)
        self.next[(kind, county)] = sequence + 1
        return make_institution_code(kind, county, sequence)


def _townships_of(county: str) -> list[CityRegion]:
    return [t for t in townships() if t.parent == county]


def _county(code: str) -> CityRegion:
    return next(c for c in counties() if c.code == code)


def demo_network(villages: Sequence[Village]) -> DemoNetwork:
    """The 1,752 stations (ids 1..1752; id 1 is the township station of 市中街道, the demo
    station client's) and the hospitals and pharmacies."""
    rng = _rng("network")
    codes = _Codes()
    stations: list[dict[str, Any]] = []
    institutions: list[dict[str, Any]] = []

    def station(
        type_code: str,
        name: str,
        region_code: str,
        at: tuple[float, float],
        hours: str,
        institution_code: str | None = None,
        address: str | None = None,
    ) -> None:
        spec = station_type(type_code)
        assert spec is not None
        stations.append(
            {"id": len(stations) + 1, "name": name, "station_type": type_code,
             "level": spec.level.value, "region_code": region_code, "lat": at[0], "lon": at[1],
             "address": address, "opening_hours": hours, "phone": _phone(rng),
             "institution_code": institution_code}
        )  # fmt: skip

    def hospital(county: str, name: str, tier: int, at: tuple[float, float], region: str) -> str:
        code = codes.take(InstitutionKind.hospital, county)
        institutions.append(
            {"code": code, "name": name, "kind": "hospital", "tier": tier,
             "region_code": region, "lat": at[0], "lon": at[1], "designated": True}
        )  # fmt: skip
        return code

    # Townships (90 = 88 townships + second halls in the two most populous districts).
    for township in townships():
        at = _near(rng, township.lat, township.lon, 0.002)
        station("township", f"{township.name}医保服务站", township.code, at, OFFICE_HOURS,
                address=f"滨州市{_county(township.parent or '').name}{township.name}便民服务中心")  # fmt: skip
    for code in ("371602002", "371681001"):
        township = next(t for t in townships() if t.code == code)
        at = _near(rng, township.lat, township.lon, 0.01)
        station("township", f"{township.name}医保服务分站", code, at, OFFICE_HOURS)

    # Communities (28): the most populous community of each street.
    communities = [v for v in villages if v.is_community]
    for street in [t for t in townships() if t.name.endswith("街道")]:
        own = [v for v in communities if v.township.code == street.code]
        biggest = max(own, key=lambda v: (v.population, v.code))
        at = _near(rng, biggest.lat, biggest.lon, 0.001)
        station("community", f"{biggest.name}医保服务站", biggest.code, at, OFFICE_HOURS)

    # Public hospitals of tier 2+ (26), in and around the county seats; the first in the city
    # district is H37160200001, tier 3.
    for county_code, count in PUBLIC_HOSPITALS_PER_COUNTY.items():
        county = _county(county_code)
        seat = _townships_of(county_code)[0]
        for k in range(count):
            tier = 3 if k == 0 or (county_code == "371602" and k < 3) else 2
            at = _near(rng, county.lat, county.lon, 0.03)
            kind = "人民医院" if k == 0 else ("中医医院" if k == 1 else f"第{k}人民医院")
            name = f"{county.name}{kind}"
            code = hospital(county_code, name, tier, at, seat.code)
            station("public_hospital", f"{name}医保服务站", seat.code, at, HOSPITAL_HOURS, code)

    # Non-public hospitals (32), tier 1 or 2, in towns across the counties.
    all_townships = townships()
    for k in range(32):
        township = all_townships[(k * 11) % len(all_townships)]
        at = _near(rng, township.lat, township.lon, 0.02)
        in_county = township.parent or township.code[:6]
        name = f"{township.name}{rng.choice(('仁爱', '康宁', '济民', '博爱', '同济'))}医院"
        code = hospital(in_county, name, 2 if k % 4 == 0 else 1, at, township.code)
        station("private_hospital", f"{name}医保服务站", township.code, at, HOSPITAL_HOURS, code)

    # Primary medical institutions (92): a health centre per township, 4 with a branch.
    for k in range(92):
        township = all_townships[k % len(all_townships)]
        at = _near(rng, township.lat, township.lon, 0.008)
        in_county = township.parent or township.code[:6]
        kind = "社区卫生服务中心" if township.name.endswith("街道") else "卫生院"
        name = f"{township.name}{kind}" + ("分院" if k >= len(all_townships) else "")
        code = hospital(in_county, name, 1, at, township.code)
        station("primary_medical", f"{name}医保服务站", township.code, at, CLINIC_HOURS, code)

    # Village clinics (1,484): one in each of the most populous villages of the towns.
    town_villages = sorted(
        (v for v in villages if not v.is_community), key=lambda v: (-v.population, v.code)
    )
    for village in sorted(town_villages[:1484], key=lambda v: v.code):
        at = _near(rng, village.lat, village.lon, 0.0012)
        station("village_clinic", f"{village.name}卫生室", village.code, at, CLINIC_HOURS)

    for county_code, name, tier, lat, lon in OFFSITE_HOSPITALS:
        hospital(county_code, name, tier, (lat, lon), county_code)

    for county_code, count in PHARMACIES_PER_COUNTY.items():
        county = _county(county_code)
        area = _townships_of(county_code)
        for k in range(count):
            township = area[0] if k < 10 else area[k % len(area)]
            code = codes.take(InstitutionKind.pharmacy, county_code)
            at = _near(rng, township.lat, township.lon, 0.015)
            institutions.append(
                {"code": code, "name": f"{county.name}第{k + 1}医保定点药店", "kind": "pharmacy",
                 "tier": None, "region_code": township.code, "lat": at[0], "lon": at[1],
                 "designated": True}
            )  # fmt: skip

    station_items = [
        {"station_id": s["id"], "item_code": item}
        for s in stations
        for item in (station_type(s["station_type"]) or STATION_TYPES[0]).items
    ]
    return DemoNetwork(stations, station_items, institutions)


def payment_standards() -> dict[str, Decimal]:
    """Stand-ins for the claims catalog's payment standards, for seeding stations alone."""
    rng = _rng("drugs")
    return {code: round_money(Decimal(rng.randint(80, 6_000)) / 100) for code in PROCURED_DRUGS}


def demo_inventory(
    pharmacies: Sequence[str], standards: Mapping[str, Decimal] | None = None
) -> list[dict[str, Any]]:
    """Each pharmacy stocks 28-44 (mean 36) of the 55 drugs, some priced above the standard.

    ``standards`` are the claims catalog's payment standards (``yibao seed`` passes them, so
    a pharmacy's flags agree with what claims pays); without them, :func:`payment_standards`.
    """
    standards = standards or payment_standards()
    rows = []
    for code in pharmacies:
        rng = _rng("inventory", code)
        for drug in sorted(rng.sample(PROCURED_DRUGS, rng.randint(28, 44))):
            standard = standards[drug]
            price = round_money(standard * Decimal(rng.randint(85, 112)) / 100)
            stock = 0 if rng.random() < 0.08 else rng.randint(1, 300)
            rows.append(
                {"pharmacy_code": code, "drug_code": drug, "price": price, "stock": stock,
                 "payment_standard": standard}
            )  # fmt: skip
    return rows


# --- seeding ---------------------------------------------------------------------------------


def _chunks(
    rows: Sequence[dict[str, Any]], size: int = 2_000
) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def _insert_new(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        await session.execute(insert(model).on_conflict_do_nothing(), chunk)


async def _upsert(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts the rows, overwriting every column but ``code`` of those already there."""
    statement = insert(model)
    columns = [c for c in rows[0] if c != "code"]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["code"], set_={c: statement.excluded[c] for c in columns}
        ),
        rows,
    )


async def seed_reference_data(session: AsyncSession) -> None:
    """The item catalog and station types: reference data, brought up to date on every run."""
    await _upsert(
        session,
        ServiceItem,
        [
            {"code": i.code, "name": i.name, "online": i.online, "position": n,
             "scheme": i.scheme.value}
            for n, i in enumerate(SERVICE_ITEMS, start=1)
        ],
    )  # fmt: skip
    await _upsert(
        session,
        StationType,
        [
            {"code": t.code, "name": t.name, "level": t.level.value, "position": n,
             "assumed": t.assumed}
            for n, t in enumerate(STATION_TYPES, start=1)
        ],
    )  # fmt: skip
    await session.execute(delete(StationTypeItem))
    await session.execute(
        insert(StationTypeItem),
        [{"station_type": t.code, "item_code": item} for t in STATION_TYPES for item in t.items],
    )


async def seed(
    session: AsyncSession, payment_standards: Mapping[str, Decimal] | None = None
) -> str:
    await seed_reference_data(session)
    villages = demo_villages()
    await _insert_new(session, Region, region_rows(villages))
    network = demo_network(villages)
    await _insert_new(session, Institution, network.institutions)
    await _insert_new(session, Station, network.stations)
    await _insert_new(session, StationItem, network.station_items)
    pharmacies = [i["code"] for i in network.institutions if i["kind"] == "pharmacy"]
    await _insert_new(session, InventoryRow, demo_inventory(pharmacies, payment_standards))
    stations = await session.scalar(
        select(func.count()).select_from(Station).where(Station.id <= SEEDED_ID_CEILING)
    )
    return (
        f"{len(SERVICE_ITEMS)} service items, {len(villages)} villages, {stations} stations, "
        f"{len(network.institutions) - len(pharmacies)} hospitals, {len(pharmacies)} pharmacies"
    )


# --- benchmark data --------------------------------------------------------------------------

BENCH_NAME_PREFIX = "BENCH "
BENCH_AREA = (34.4, 38.3, 114.8, 122.7)
"""A province-sized box (Shandong's extent): 100,000 stations there are a national density
of stations looked at through one province."""

_INSERT_STATIONS = text(
    "insert into stations (name, station_type, level, region_code, lat, lon, opening_hours, phone) "
    "select * from unnest(cast(:names as varchar[]), cast(:types as varchar[]), "
    "cast(:levels as varchar[]), cast(:regions as varchar[]), cast(:lats as float8[]), "
    "cast(:lons as float8[]), cast(:hours as varchar[]), cast(:phones as varchar[])) "
    "returning id, station_type"
)
_INSERT_STATION_ITEMS = text(
    "insert into station_items (station_id, item_code) "
    "select * from unnest(cast(:ids as bigint[]), cast(:codes as varchar[])) "
    "on conflict do nothing"
)


async def load_bench_data(
    session: AsyncSession, n_stations: int = 100_000, batch: int = 20_000
) -> str:
    """Bulk-loads stations (beyond the demo network) until ``n_stations`` bench stations exist.

    Clustered around synthetic towns over a province-sized area, with the seed's mix of types;
    idempotent (counts what an earlier run left). Needs the reference data (``seed``) first.
    """
    have = (
        await session.scalar(
            select(func.count())
            .select_from(Station)
            .where(Station.name.startswith(BENCH_NAME_PREFIX))
        )
        or 0
    )
    missing = n_stations - have
    if missing <= 0:
        return f"{have} bench stations already there"
    rng = _rng("bench", have)
    min_lat, max_lat, min_lon, max_lon = BENCH_AREA
    towns = [
        (rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon))
        for _ in range(max(1, n_stations // 20))
    ]
    seeded_types = [t for t in STATION_TYPES if t.seeded]
    weights = [t.seeded for t in seeded_types]
    done = 0
    while done < missing:
        size = min(batch, missing - done)
        kinds = rng.choices(seeded_types, weights=weights, k=size)
        spots = [_near(rng, *rng.choice(towns), 0.03) for _ in range(size)]
        result = await session.execute(
            _INSERT_STATIONS,
            {
                "names": [f"{BENCH_NAME_PREFIX}{have + done + k + 1}" for k in range(size)],
                "types": [t.code for t in kinds],
                "levels": [t.level.value for t in kinds],
                "regions": ["370000"] * size,
                "lats": [lat for lat, _ in spots],
                "lons": [lon for _, lon in spots],
                "hours": [OFFICE_HOURS] * size,
                "phones": [_phone(rng) for _ in range(size)],
            },
        )
        ids: list[int] = []
        item_codes: list[str] = []
        for station_id, type_code in result:
            for item in (station_type(type_code) or STATION_TYPES[0]).items:
                ids.append(station_id)
                item_codes.append(item)
        await session.execute(_INSERT_STATION_ITEMS, {"ids": ids, "codes": item_codes})
        done += size
    return f"{missing} bench stations loaded ({n_stations} in all)"
