"""Tables in the ``stations`` schema."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata

SEEDED_ID_CEILING = 100_000
"""Station ids up to this are the demo network's (the seed sets them, so the demo station
client bound to "1" finds its station whatever was created before); new stations count from
the next one."""


class Base(DeclarativeBase):
    metadata = service_metadata()


class ServiceItem(Base):
    """One of the 34 business items (经办事项) a station may handle."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(10), default="both")
    """employee | resident | both: whom the item serves."""


class Region(Base):
    """A county, township/street or village/community (行政区划), with a centroid."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    population: Mapped[int | None] = mapped_column(Integer)


class StationType(Base):
    __tablename__ = "station_types"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer)
    assumed: Mapped[bool] = mapped_column(Boolean, default=False)


class StationTypeItem(Base):
    """A station type's duty: an item every station of the type handles by default."""

    __tablename__ = "station_type_items"

    station_type: Mapped[str] = mapped_column(
        ForeignKey("station_types.code", ondelete="CASCADE"), primary_key=True
    )
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), primary_key=True)


class Station(Base):
    """A service station (医保服务站点). Located by a GiST index on ``point(lon, lat)``."""

    __tablename__ = "stations"
    __table_args__ = (
        Index("ix_stations_location", text("point(lon, lat)"), postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger, Identity(start=SEEDED_ID_CEILING + 1), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200))
    station_type: Mapped[str] = mapped_column(ForeignKey("station_types.code"), index=True)
    level: Mapped[str] = mapped_column(String(10))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    opening_hours: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    institution_code: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StationItem(Base):
    __tablename__ = "station_items"
    __table_args__ = (Index("ix_station_items_item_code", "item_code", "station_id"),)

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), primary_key=True)


class Institution(Base):
    """A designated medical institution (H code) or pharmacy (P code) (定点医药机构)."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint("kind in ('hospital', 'pharmacy')", name="kind"),
        CheckConstraint("tier is null or tier between 1 and 3", name="tier"),
        Index("ix_institutions_location", text("point(lon, lat)"), postgresql_using="gist"),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), index=True)
    tier: Mapped[int | None] = mapped_column(SmallInteger)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    designated: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InventoryRow(Base):
    """A pharmacy's price and stock of one drug, as the pharmacy last reported it."""

    __tablename__ = "pharmacy_inventory"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock"),
        CheckConstraint("price >= 0", name="price"),
        Index("ix_pharmacy_inventory_drug_code", "drug_code", "pharmacy_code"),
    )

    pharmacy_code: Mapped[str] = mapped_column(
        ForeignKey("institutions.code", ondelete="CASCADE"), primary_key=True
    )
    drug_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    stock: Mapped[int] = mapped_column(Integer)
    payment_standard: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    """The catalog's payment standard when the row was written (None: the drug has none)."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VideoRequest(Base):
    """A person's request that a station handle an item by video call (手机视频办医保)."""

    __tablename__ = "video_requests"
    __table_args__ = (
        Index("ix_video_requests_queue", "station_id", "status", "id"),
        Index("ix_video_requests_person_id", "person_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(String(100))
    """The client id of the station that accepted it."""


class HandledItem(Base):
    """One item of business a station handled, by video or at its counter."""

    __tablename__ = "handled_items"
    __table_args__ = (Index("ix_handled_items_station", "station_id", "handled_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"))
    channel: Mapped[str] = mapped_column(String(10))
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    video_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("video_requests.id", ondelete="SET NULL"), unique=True
    )
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
