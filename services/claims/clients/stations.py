"""Typed client for the stations service (designated institutions), after API.md."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ValidationError

from services.claims.domain.calculator import Institution
from shared.errors import Unprocessable, UpstreamUnavailable
from shared.http import ServiceClient


class InstitutionDoc(BaseModel):
    """``GET /stations/v1/institutions/{code}``."""

    code: str
    name: str = ""
    kind: Literal["hospital", "pharmacy"]
    tier: int | None = None
    region_code: str
    offsite: bool
    designated: bool = True

    def institution(self) -> Institution:
        return Institution(
            self.code, self.kind, self.tier, self.region_code, self.offsite, self.designated
        )


class StationsApi(Protocol):
    async def institution(self, code: str) -> InstitutionDoc: ...


class HttpStationsClient:
    def __init__(self, client: ServiceClient, authorization: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": authorization} if authorization else {}

    async def institution(self, code: str) -> InstitutionDoc:
        response = await self.client.get(f"/stations/v1/institutions/{code}", headers=self.headers)
        if response.status_code == 404:
            raise Unprocessable(f"no designated institution {code}", field="body.institution_code")
        if response.status_code != 200:
            raise UpstreamUnavailable(f"stations answered {response.status_code}")
        try:
            return InstitutionDoc.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamUnavailable("stations answered an unexpected institution") from None
