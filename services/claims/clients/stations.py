"""Typed client for the stations service (designated institutions), after API.md."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ValidationError

from services.claims.domain.calculator import Institution
from shared.cache import TTLCache
from shared.errors import Unprocessable, UpstreamUnavailable, refused_upstream
from shared.http import Upstream


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


INSTITUTIONS: TTLCache[str, InstitutionDoc] = TTLCache(ttl_seconds=60.0)
"""Institutions are public reference data read on every settlement. A minute's cache takes the
stations call off the hot path; a change of designation or tier applies within that minute."""


class HttpStationsClient:
    def __init__(self, client: Upstream, authorization: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": authorization} if authorization else {}

    async def institution(self, code: str) -> InstitutionDoc:
        cached = INSTITUTIONS.get(code)
        if cached is not None:
            return cached
        doc = await self._fetch(code)
        INSTITUTIONS.put(code, doc)
        return doc

    async def _fetch(self, code: str) -> InstitutionDoc:
        response = await self.client.get(f"/stations/v1/institutions/{code}", headers=self.headers)
        if response.status_code == 404:
            raise Unprocessable(f"no designated institution {code}", field="body.institution_code")
        if response.status_code in (400, 422):
            raise refused_upstream(
                "stations",
                response.status_code,
                response.content,
                {"path.code": "body.institution_code"},
            )
        if response.status_code != 200:
            raise UpstreamUnavailable(f"stations answered {response.status_code}")
        try:
            return InstitutionDoc.model_validate_json(response.content)
        except ValidationError:
            raise UpstreamUnavailable("stations answered an unexpected institution") from None
