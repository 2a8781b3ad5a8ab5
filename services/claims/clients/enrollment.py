"""Typed client for the enrollment service (eligibility, voucher codes), after API.md."""

from __future__ import annotations

from datetime import date
from typing import Literal, Protocol

from pydantic import BaseModel, ValidationError

from services.claims.domain.calculator import OffsiteFiling, Patient, Qualification
from services.claims.domain.policy import Scheme
from shared.errors import Forbidden, NotFound, Unprocessable, UpstreamUnavailable
from shared.http import ServiceClient


class QualificationDoc(BaseModel):
    kind: Literal["chronic", "two_disease"]
    disease_code: str
    start_date: date
    end_date: date | None = None


class FilingDoc(BaseModel):
    kind: str
    destination_region: str
    start_date: date
    end_date: date | None = None


class Eligibility(BaseModel):
    """``GET /enrollment/v1/persons/{id}/eligibility?date=``."""

    person_id: int
    date: date
    eligible: bool
    scheme: Scheme | None = None
    retired: bool = False
    poverty: bool = False
    qualifications: list[QualificationDoc] = []
    offsite_filings: list[FilingDoc] = []

    def patient(self) -> Patient:
        return Patient(
            eligible=self.eligible,
            scheme=self.scheme,
            retired=self.retired,
            poverty=self.poverty,
            qualifications=tuple(
                Qualification(q.kind, q.disease_code, q.start_date, q.end_date)
                for q in self.qualifications
            ),
            offsite_filings=tuple(
                OffsiteFiling(f.kind, f.destination_region, f.start_date, f.end_date)
                for f in self.offsite_filings
            ),
        )


class EnrollmentApi(Protocol):
    async def eligibility(self, person_id: int, day: date) -> Eligibility: ...

    async def resolve_voucher(self, code: str) -> int: ...


class HttpEnrollmentClient:
    """Calls enrollment with the caller's own token, so enrollment applies its own rules."""

    def __init__(self, client: ServiceClient, authorization: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": authorization} if authorization else {}

    async def eligibility(self, person_id: int, day: date) -> Eligibility:
        # The query in the path rather than ``params``: both HTTP libraries under the client
        # rebuild a URL from ``params`` on every call, on the path of every settlement.
        response = await self.client.get(
            f"/enrollment/v1/persons/{person_id}/eligibility?date={day.isoformat()}",
            headers=self.headers,
        )
        if response.status_code == 404:
            raise NotFound(f"person {person_id} not found")
        if response.status_code in (401, 403):
            raise Forbidden(f"enrollment refused this client the eligibility of {person_id}")
        if response.status_code != 200:
            raise UpstreamUnavailable(f"enrollment answered {response.status_code}")
        try:
            return Eligibility.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamUnavailable("enrollment answered an unexpected eligibility") from None

    async def resolve_voucher(self, code: str) -> int:
        response = await self.client.post(
            "/enrollment/v1/voucher-codes/resolve", json={"code": code}, headers=self.headers
        )
        if response.status_code in (400, 404, 409, 410, 422):
            raise Unprocessable(
                "the voucher code is expired, forged or unknown", field="body.voucher_code"
            )
        if response.status_code in (401, 403):
            raise Forbidden("enrollment refused this client resolving voucher codes")
        if response.status_code != 200:
            raise UpstreamUnavailable(f"enrollment answered {response.status_code}")
        try:
            return int(response.json()["person_id"])
        except (ValueError, KeyError, TypeError):
            raise UpstreamUnavailable("enrollment answered an unexpected voucher") from None
