"""Claims tests: the default policy seeded, enrollment and stations replaced by fakes.

The fakes implement the clients' interfaces (services/claims/clients), so these tests do not
depend on the other services' progress; tests of the real HTTP clients live apart.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI

from services.claims.clients import enrollment_client, stations_client
from services.claims.clients.enrollment import Eligibility
from services.claims.clients.stations import InstitutionDoc
from services.claims.seed import seed
from shared.errors import NotFound, Unprocessable

HOSPITAL = "H37160200001"
PHARMACY = "P37160200007"
OFFSITE = "H11010500003"


class FakeEnrollment:
    def __init__(self) -> None:
        self.people: dict[int, dict[str, Any]] = {}
        self.vouchers: dict[str, int] = {}
        self.calls = 0

    async def eligibility(self, person_id: int, day: date) -> Eligibility:
        self.calls += 1
        doc = self.people.get(person_id)
        if doc is None:
            raise NotFound(f"person {person_id} not found")
        return Eligibility.model_validate({"person_id": person_id, "date": day, **doc})

    async def resolve_voucher(self, code: str) -> int:
        if code not in self.vouchers:
            raise Unprocessable("the voucher code is expired or forged", field="body.voucher_code")
        return self.vouchers[code]


class FakeStations:
    def __init__(self) -> None:
        self.institutions = {
            HOSPITAL: InstitutionDoc(
                code=HOSPITAL, kind="hospital", tier=2, region_code="371602", offsite=False
            ),
            "H37160200002": InstitutionDoc(
                code="H37160200002", kind="hospital", tier=3, region_code="371602", offsite=False
            ),
            PHARMACY: InstitutionDoc(
                code=PHARMACY, kind="pharmacy", tier=None, region_code="371602", offsite=False
            ),
            OFFSITE: InstitutionDoc(
                code=OFFSITE, kind="hospital", tier=2, region_code="110105", offsite=True
            ),
        }

    async def institution(self, code: str) -> InstitutionDoc:
        if code not in self.institutions:
            raise Unprocessable(f"no designated institution {code}", field="body.institution_code")
        return self.institutions[code]


class Fakes:
    def __init__(self) -> None:
        self.enrollment = FakeEnrollment()
        self.stations = FakeStations()

    def person(self, scheme: str | None = "employee", **extra: Any) -> int:
        person_id = random.randrange(10**9, 2 * 10**9)
        self.enrollment.people[person_id] = {
            "eligible": scheme is not None,
            "scheme": scheme,
            **extra,
        }
        return person_id


@pytest.fixture(scope="session")
async def claims_app(service_apps: dict[str, FastAPI]) -> FastAPI:
    app = service_apps["claims"]
    async with app.state.database.sessions() as session, session.begin():
        await seed(session)
    return app


@pytest.fixture
async def fakes(claims_app: FastAPI) -> AsyncIterator[Fakes]:
    made = Fakes()
    claims_app.dependency_overrides[enrollment_client] = lambda: made.enrollment
    claims_app.dependency_overrides[stations_client] = lambda: made.stations
    try:
        yield made
    finally:
        claims_app.dependency_overrides.pop(enrollment_client, None)
        claims_app.dependency_overrides.pop(stations_client, None)


def item(amount: str, category: str = "A", code: str = "XA0001", quantity: str = "1") -> dict:
    return {
        "code": code,
        "name": "阿托伐他汀钙片",
        "category": category,
        "quantity": quantity,
        "unit_price": amount,
    }


def visit(person_id: int, *items: dict, **fields: Any) -> dict:
    body = {
        "person_id": person_id,
        "institution_code": HOSPITAL,
        "visit_type": "general_outpatient",
        "service_date": "2024-06-03",
        "items": list(items) or [item("100.00")],
    }
    body.update(fields)
    return body


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{random.getrandbits(64):x}"}
