"""Tables in the ``childcare`` schema."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Institution(Base):
    """A childcare institution for children under 3 (托育机构)."""

    __tablename__ = "institutions"
    __table_args__ = (Index("ix_institutions_lat_lon", "lat", "lon"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    nature: Mapped[str] = mapped_column(String(16))
    registration_authority: Mapped[str] = mapped_column(String(24))
    form: Mapped[str] = mapped_column(String(24))
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    phone: Mapped[str | None] = mapped_column(String(20))
    service_modes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    facilities: Mapped[dict[str, Any]] = mapped_column(JSONB)
    demonstration: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Capacity(Base):
    """Places and children enrolled per age group (托位)."""

    __tablename__ = "capacities"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    age_group: Mapped[str] = mapped_column(String(16), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer)
    enrolled: Mapped[int] = mapped_column(Integer, default=0)


class Fee(Base):
    __tablename__ = "fees"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    service_mode: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class Filing(Base):
    """The institution's filing with the county health commission (备案), one per institution."""

    __tablename__ = "filings"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), index=True)
    filing_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    filed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FilingEvent(Base):
    """One legal transition: who, when, why."""

    __tablename__ = "filing_events"
    __table_args__ = (
        UniqueConstraint("institution_id", "seq", name="uq_filing_events_institution_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FilingNumberCounter(Base):
    __tablename__ = "filing_number_counters"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Staff(Base):
    """A member of staff (从业人员)."""

    __tablename__ = "staff"
    __table_args__ = (
        # One current employment per person per institution.
        Index(
            "uq_staff_current",
            "institution_id",
            "id_number",
            unique=True,
            postgresql_where=text("left_on is null"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    qualification: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    health_check_on: Mapped[date | None] = mapped_column(Date)
    training_hours: Mapped[int] = mapped_column(Integer, default=0)
    last_training_on: Mapped[date | None] = mapped_column(Date)
    hired_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Ban(Base):
    """The lifetime ban list (终身禁入)."""

    __tablename__ = "bans"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    banned_by: Mapped[str] = mapped_column(String(100))
    banned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BanFlag(Base):
    """An institution employing someone who has since been banned."""

    __tablename__ = "ban_flags"
    __table_args__ = (UniqueConstraint("ban_id", "staff_id", name="uq_ban_flags_ban_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ban_id: Mapped[int] = mapped_column(ForeignKey("bans.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Inspector(Base):
    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    level: Mapped[str] = mapped_column(String(16))


class Inspection(Base):
    """A safety inspection at city, county or township level (三级安全检查)."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    result: Mapped[str] = mapped_column(String(16))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    rectification_deadline: Mapped[date | None] = mapped_column(Date)
    rectified_on: Mapped[date | None] = mapped_column(Date)
    reinspection_of: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Draw(Base):
    """A recorded double-random draw: the seed and candidates reproduce it."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    institution_count: Mapped[int] = mapped_column(Integer)
    inspector_count: Mapped[int] = mapped_column(Integer)
    candidate_institution_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    candidate_inspector_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    institution_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    inspector_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Target(Base):
    """Development targets (seed): policy data, so a new plan is a row, not a release."""

    __tablename__ = "targets"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    minimum: Mapped[int] = mapped_column(Integer)
