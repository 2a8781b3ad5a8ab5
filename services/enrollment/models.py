"""Tables in the ``enrollment`` schema."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Person(Base):
    """An insured person (参保人)."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    poverty: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Recorded:
    """Who recorded a row: the client, and for a station token the station it acts for."""

    recorded_by: Mapped[str] = mapped_column(String(100))
    station_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Employer(Base):
    """An insured employer (参保单位), identified by its unified social credit code."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Coverage(Recorded, Base):
    """A coverage period (参保期间) of one scheme; both ends inclusive, no end = still running.

    Periods of one person never overlap: the service checks under a lock on the person and
    migration 0002's exclusion constraint is the backstop.
    """

    __tablename__ = "coverages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("persons.id"))
    scheme: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    employer_uscc: Mapped[str | None] = mapped_column(String(18), ForeignKey("employers.uscc"))


class Qualification(Recorded, Base):
    """An outpatient chronic/special disease (门诊慢特病) or two-disease (两病) approval."""

    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(12))
    disease_code: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))


class OffsiteFiling(Recorded, Base):
    """An off-site medical filing (异地就医备案) to a region outside the city."""

    __tablename__ = "offsite_filings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(12))
    destination_region: Mapped[str] = mapped_column(String(12))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))


class AccessLogEntry(Base):
    """One read or change of a person's data by a staff, institution or pharmacy client."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[str] = mapped_column(String(100))
    client_kind: Mapped[str] = mapped_column(String(24))
    client_bound: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ContributionBatch(Base):
    """A government-paid contribution batch (财政代缴) for the poverty persons of a year."""

    __tablename__ = "contribution_batches"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    amount_per_person: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    persons: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Contribution(Recorded, Base):
    """A yearly contribution (缴费) paid by the person, the employer or the government."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("persons.id"))
    year: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(10))
    payer: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[date] = mapped_column(Date)
    batch_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("contribution_batches.id"))


class Transfer(Recorded, Base):
    """A transfer of the insurance relationship (关系转移接续) into or out of the city."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("persons.id"))
    direction: Mapped[str] = mapped_column(String(3))
    other_region: Mapped[str] = mapped_column(String(12))
    effective_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="requested")
    reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
