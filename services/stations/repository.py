"""Queries on the stations tables. The hot reads (nearby searches) are hand-written SQL
returning plain rows: they serve the public at the highest rates in the service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.stations.domain.geo import Box, Located, Place
from services.stations.models import (
    Institution,
    InventoryRow,
    Region,
    ServiceItem,
    Station,
    StationItem,
    StationType,
    StationTypeItem,
)


@dataclass(frozen=True, slots=True)
class StockedPharmacy(Located):
    name: str
    region_code: str
    price: Decimal
    stock: int
    payment_standard: Decimal | None


@dataclass(frozen=True, slots=True)
class VillageRow:
    code: str
    name: str
    parent_code: str | None
    lat: float
    lon: float
    population: int

    def place(self) -> Place:
        return Place(self.code, self.lat, self.lon, self.population)


_IN_BOX = (
    "point({alias}.lon, {alias}.lat) <@ box(point(:min_lon, :min_lat), point(:max_lon, :max_lat))"
)

# The public pharmacy search and the station index's loads run on the driver directly (numbered
# parameters, asyncpg's own prepared-statement cache): skipping the ORM's statement and result
# layers roughly halves the cost of a small read.
_RAW_IN_BOX = "point({alias}.lon, {alias}.lat) <@ box(point($1, $2), point($3, $4))"

_NEARBY_PHARMACIES = (
    "select i.code, i.lat, i.lon, i.name, i.region_code, v.price, v.stock, v.payment_standard "
    "from institutions i join pharmacy_inventory v on v.pharmacy_code = i.code "
    "where i.kind = 'pharmacy' and i.designated and v.drug_code = $5 "
    "and v.stock >= $6 and " + _RAW_IN_BOX.format(alias="i")
)


async def fetch_rows(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """Rows straight from asyncpg, on the session's connection (and transaction, if any)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    rows: list[Any] = await raw.driver_connection.fetch(sql, *args)  # type: ignore[union-attr]
    return rows


def _box_args(box: Box) -> tuple[float, float, float, float]:
    return box.min_lon, box.min_lat, box.max_lon, box.max_lat


def _box_params(box: Box) -> dict[str, float]:
    return {
        "min_lat": box.min_lat,
        "max_lat": box.max_lat,
        "min_lon": box.min_lon,
        "max_lon": box.max_lon,
    }


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def items(self) -> list[ServiceItem]:
        return list(await self.session.scalars(select(ServiceItem).order_by(ServiceItem.position)))

    async def item_exists(self, code: str) -> bool:
        return await self.session.get(ServiceItem, code) is not None

    async def existing_items(self, codes: Sequence[str]) -> set[str]:
        rows = await self.session.scalars(
            select(ServiceItem.code).where(ServiceItem.code.in_(codes))
        )
        return set(rows)

    async def station_types(self) -> list[tuple[StationType, list[str]]]:
        types = list(await self.session.scalars(select(StationType).order_by(StationType.position)))
        duties = await self.session.execute(
            select(StationTypeItem.station_type, StationTypeItem.item_code).order_by(
                StationTypeItem.item_code
            )
        )
        by_type: dict[str, list[str]] = {}
        for type_code, item_code in duties:
            by_type.setdefault(type_code, []).append(item_code)
        return [(t, by_type.get(t.code, [])) for t in types]

    async def station_type(self, code: str) -> StationType | None:
        return await self.session.get(StationType, code)

    async def duties(self, type_code: str) -> list[str]:
        rows = await self.session.scalars(
            select(StationTypeItem.item_code)
            .where(StationTypeItem.station_type == type_code)
            .order_by(StationTypeItem.item_code)
        )
        return list(rows)

    async def region(self, code: str) -> Region | None:
        return await self.session.get(Region, code)

    async def regions(
        self, parent: str | None, level: str | None, after: str | None, limit: int
    ) -> list[Region]:
        query = select(Region).order_by(Region.code).limit(limit)
        if parent is not None:
            query = query.where(Region.parent_code == parent)
        if level is not None:
            query = query.where(Region.level == level)
        if after is not None:
            query = query.where(Region.code > after)
        return list(await self.session.scalars(query))

    async def villages(self) -> list[VillageRow]:
        rows = await self.session.execute(
            select(
                Region.code,
                Region.name,
                Region.parent_code,
                Region.lat,
                Region.lon,
                func.coalesce(Region.population, 0),
            ).where(Region.level == "village")
        )
        return [VillageRow(*row) for row in rows]


class StationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, station_id: int) -> Station | None:
        return await self.session.get(Station, station_id)

    async def items_of(self, station_id: int) -> list[str]:
        rows = await self.session.scalars(
            select(StationItem.item_code)
            .where(StationItem.station_id == station_id)
            .order_by(StationItem.item_code)
        )
        return list(rows)

    async def handles(self, station_id: int, item_code: str) -> bool:
        return await self.session.get(StationItem, (station_id, item_code)) is not None

    async def page(
        self,
        after: int | None,
        limit: int,
        station_type: str | None,
        region_prefix: str | None,
    ) -> list[Station]:
        query = select(Station).order_by(Station.id).limit(limit)
        if after is not None:
            query = query.where(Station.id > after)
        if station_type is not None:
            query = query.where(Station.station_type == station_type)
        if region_prefix:
            query = query.where(Station.region_code.startswith(region_prefix))
        return list(await self.session.scalars(query))

    async def items_by_station(self, station_ids: Sequence[int]) -> dict[int, list[str]]:
        rows = await self.session.execute(
            select(StationItem.station_id, StationItem.item_code)
            .where(StationItem.station_id.in_(station_ids))
            .order_by(StationItem.item_code)
        )
        out: dict[int, list[str]] = {sid: [] for sid in station_ids}
        for station_id, item_code in rows:
            out[station_id].append(item_code)
        return out

    async def positions(self, item: str | None, box: Box) -> list[tuple[float, float]]:
        """Where the stations handling an item (or any station) inside the box are."""
        query = "select s.lat, s.lon from stations s where " + _IN_BOX.format(alias="s")
        if item is not None:
            query += (
                " and exists (select 1 from station_items si"
                " where si.station_id = s.id and si.item_code = :item)"
            )
        rows = await self.session.execute(text(query), {**_box_params(box), "item": item})
        return [(lat, lon) for lat, lon in rows]


class InstitutionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> Institution | None:
        return await self.session.get(Institution, code)

    async def page(
        self,
        after: str | None,
        limit: int,
        kind: str | None,
        region_prefix: str | None,
    ) -> list[Institution]:
        query = select(Institution).order_by(Institution.code).limit(limit)
        if after is not None:
            query = query.where(Institution.code > after)
        if kind is not None:
            query = query.where(Institution.kind == kind)
        if region_prefix:
            query = query.where(Institution.region_code.startswith(region_prefix))
        return list(await self.session.scalars(query))

    async def stocking(self, drug_code: str, box: Box, in_stock: bool) -> list[StockedPharmacy]:
        rows = await fetch_rows(
            self.session, _NEARBY_PHARMACIES, *_box_args(box), drug_code, 1 if in_stock else 0
        )
        return [StockedPharmacy(*row) for row in rows]


_UPSERT_INVENTORY = text(
    "insert into pharmacy_inventory "
    "(pharmacy_code, drug_code, price, stock, payment_standard, updated_at) "
    "select :pharmacy, t.drug_code, t.price, t.stock, t.payment_standard, now() "
    "from unnest(cast(:drug_codes as varchar[]), cast(:prices as numeric[]), "
    "cast(:stocks as integer[]), cast(:standards as numeric[])) "
    "as t(drug_code, price, stock, payment_standard) "
    "on conflict (pharmacy_code, drug_code) do update set price = excluded.price, "
    "stock = excluded.stock, payment_standard = excluded.payment_standard, "
    "updated_at = excluded.updated_at "
    "returning (xmax = 0)"
)


@dataclass(frozen=True, slots=True)
class InventoryWrite:
    drug_code: str
    price: Decimal
    stock: int
    payment_standard: Decimal | None


async def upsert_inventory(
    session: AsyncSession, pharmacy_code: str, rows: Sequence[InventoryWrite]
) -> tuple[int, int]:
    """One statement for the whole report; (created, updated)."""
    if not rows:
        return 0, 0
    result = await session.execute(
        _UPSERT_INVENTORY,
        {
            "pharmacy": pharmacy_code,
            "drug_codes": [r.drug_code for r in rows],
            "prices": [r.price for r in rows],
            "stocks": [r.stock for r in rows],
            "standards": [r.payment_standard for r in rows],
        },
    )
    inserted = [flag for (flag,) in result]
    created = sum(1 for flag in inserted if flag)
    return created, len(inserted) - created


@dataclass(frozen=True, slots=True)
class InventoryRead:
    drug_code: str
    price: Decimal
    stock: int
    payment_standard: Decimal | None
    updated_at: datetime


async def inventory_page(
    session: AsyncSession, pharmacy_code: str, after: str | None, limit: int
) -> list[InventoryRead]:
    query = (
        select(
            InventoryRow.drug_code,
            InventoryRow.price,
            InventoryRow.stock,
            InventoryRow.payment_standard,
            InventoryRow.updated_at,
        )
        .where(InventoryRow.pharmacy_code == pharmacy_code)
        .order_by(InventoryRow.drug_code)
        .limit(limit)
    )
    if after is not None:
        query = query.where(InventoryRow.drug_code > after)
    return [InventoryRead(*row) for row in await session.execute(query)]
