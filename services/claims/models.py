"""Tables in the ``claims`` schema."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata

MONEY = Numeric(14, 2)


class Base(DeclarativeBase):
    metadata = service_metadata()


class BenefitPolicy(Base):
    """A version of the benefit policy (待遇政策), in force from ``effective_from``."""

    __tablename__ = "benefit_policies"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    description: Mapped[str] = mapped_column(String(500))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Accumulator(Base):
    """What a person's fund layers paid in one pool in one policy year (累计)."""

    __tablename__ = "accumulators"

    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    pool: Mapped[str] = mapped_column(String(80), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Settlement(Base):
    """One settled visit (结算单). Partitioned by year of ``service_date`` (see 0002)."""

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("nextval('settlements_id_seq')")
    )
    service_date: Mapped[date] = mapped_column(Date, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    institution_code: Mapped[str] = mapped_column(String(12))
    visit_type: Mapped[str] = mapped_column(String(20))
    disease_code: Mapped[str | None] = mapped_column(String(40))
    discharge_date: Mapped[date | None] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(10))
    policy_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(MONEY)
    out_of_scope: Mapped[Decimal] = mapped_column(MONEY)
    policy_scope: Mapped[Decimal] = mapped_column(MONEY)
    deductible: Mapped[Decimal] = mapped_column(MONEY)
    basic_fund: Mapped[Decimal] = mapped_column(MONEY)
    large_amount_subsidy: Mapped[Decimal] = mapped_column(MONEY)
    critical_illness: Mapped[Decimal] = mapped_column(MONEY)
    medical_assistance: Mapped[Decimal] = mapped_column(MONEY)
    personal_pay: Mapped[Decimal] = mapped_column(MONEY)
    deltas: Mapped[dict[str, str]] = mapped_column(JSONB)
    accumulators_after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    client_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    """A client's Idempotency-Key and the answer it got, kept at least 24 h."""

    __tablename__ = "idempotency_keys"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Drug(Base):
    """A drug of the medical-insurance catalog (医保药品目录), with its procurement (集采) data."""

    __tablename__ = "drugs"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    generic_name: Mapped[str] = mapped_column(String(200))
    pinyin_initials: Mapped[str] = mapped_column(String(200))
    dosage_form: Mapped[str] = mapped_column(String(40))
    specification: Mapped[str] = mapped_column(String(100))
    manufacturer: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(1))
    procured: Mapped[bool] = mapped_column(Boolean)
    procurement_batch: Mapped[int | None] = mapped_column(SmallInteger)
    original_price: Mapped[Decimal | None] = mapped_column(MONEY)
    winning_bid_price: Mapped[Decimal | None] = mapped_column(MONEY)
    cut_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    payment_standard: Mapped[Decimal | None] = mapped_column(MONEY)
    prescription_only: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_limit: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    notes: Mapped[str | None] = mapped_column(Text)


class CalendarYear(Base):
    """A year's holidays and make-up workdays as published, preferred over the package's."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    holidays: Mapped[list[str]] = mapped_column(JSONB)
    workdays: Mapped[list[str]] = mapped_column(JSONB)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Reimbursement(Base):
    """A manual reimbursement claim (手工报销) with its receipts, decided within 10 working days."""

    __tablename__ = "reimbursements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    institution_code: Mapped[str] = mapped_column(String(12))
    visit_type: Mapped[str] = mapped_column(String(20))
    service_date: Mapped[date] = mapped_column(Date)
    disease_code: Mapped[str | None] = mapped_column(String(40))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    receipts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    total: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(10))
    submitted_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    deadline_provisional: Mapped[bool] = mapped_column(Boolean)
    submitted_by: Mapped[str] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(500))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    deltas: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditCase(Base):
    """An audit case (稽核案件): findings, the fine and what was recovered."""

    __tablename__ = "audit_cases"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    institution_code: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10))
    findings: Mapped[str] = mapped_column(Text)
    fine: Mapped[Decimal] = mapped_column(MONEY)
    recovered: Mapped[Decimal] = mapped_column(MONEY)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditFlag(Base):
    """A suspicious settlement, raised as it arrived, for auditors to work through."""

    __tablename__ = "audit_flags"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    settlement_id: Mapped[int] = mapped_column(BigInteger)
    service_date: Mapped[date] = mapped_column(Date)
    person_id: Mapped[int] = mapped_column(BigInteger)
    institution_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(500))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("audit_cases.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
