"""The claims service's drug catalog, as the stations service needs it.

``GET /claims/v1/catalog/drugs/{code}`` (public) → ``{code, generic_name, payment_standard, ...}``;
404 means the drug is not in the catalog. Answers are cached in-process for a while (the
catalog changes a few times a year; a drug added to it is seen within ``missing_ttl_seconds``).
A claims service that is down is a 503 to our caller, never a silent "unknown drug".

Anything with the :class:`DrugCatalog` shape can stand in (``app.state.drug_catalog``), which is
how tests run the inventory endpoints without depending on the claims catalog.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import quote

from shared.cache import TTLCache
from shared.errors import UpstreamUnavailable
from shared.http import Upstream


@dataclass(frozen=True, slots=True)
class Drug:
    code: str
    generic_name: str
    payment_standard: Decimal | None
    """医保支付标准, for procured drugs; None where the catalog gives none."""


class DrugCatalog(Protocol):
    async def get_drugs(self, codes: Collection[str]) -> dict[str, Drug]:
        """The known drugs among ``codes`` (unknown ones are absent). Raises
        :class:`UpstreamUnavailable` when the catalog cannot be asked."""
        ...


class StaticDrugCatalog:
    """A fixed list of drugs behind the :class:`DrugCatalog` interface (tests, offline use)."""

    def __init__(self, drugs: Collection[Drug]) -> None:
        self.drugs = {drug.code: drug for drug in drugs}

    async def get_drugs(self, codes: Collection[str]) -> dict[str, Drug]:
        return {code: self.drugs[code] for code in codes if code in self.drugs}


def parse_drug(body: Mapping[str, Any]) -> Drug:
    standard = body.get("payment_standard")
    try:
        return Drug(
            code=str(body["code"]),
            generic_name=str(body.get("generic_name") or ""),
            payment_standard=None if standard is None else Decimal(str(standard)),
        )
    except (KeyError, InvalidOperation):
        raise UpstreamUnavailable("claims answered a drug this service cannot read") from None


_LOOKUP_CHUNK = 2000


class ClaimsClient:
    """Drug lookups against the claims catalog with an in-process TTL cache."""

    def __init__(
        self,
        client: Upstream,
        *,
        ttl_seconds: float = 300.0,
        missing_ttl_seconds: float = 60.0,
        max_entries: int = 100_000,
        concurrency: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.missing_ttl_seconds = missing_ttl_seconds
        self._limit = asyncio.Semaphore(concurrency)
        # Unknown codes are remembered too (as None), for less long: a drug may be added.
        self._cache: TTLCache[str, Drug | None] = TTLCache(ttl_seconds, max_entries, clock)

    def _cached(self, code: str) -> tuple[bool, Drug | None]:
        return self._cache.lookup(code)

    def _remember(self, code: str, drug: Drug | None) -> None:
        self._cache.put(code, drug, None if drug is not None else self.missing_ttl_seconds)

    async def _fetch(self, code: str) -> Drug | None:
        async with self._limit:
            response = await self.client.get(f"/claims/v1/catalog/drugs/{quote(code, safe='')}")
        if response.status_code == 200:
            return parse_drug(response.json())
        if response.status_code in (404, 422):
            # 422: the catalog refuses the code's shape, which makes it just as unknown.
            return None
        raise UpstreamUnavailable(
            f"claims answered {response.status_code} for a catalog read",
            extra={"upstream_status": response.status_code},
        )

    async def get_drug(self, code: str) -> Drug | None:
        hit, drug = self._cached(code)
        if hit:
            return drug
        drug = await self._fetch(code)
        self._remember(code, drug)
        return drug

    async def get_drugs(self, codes: Collection[str]) -> dict[str, Drug]:
        wanted = list(dict.fromkeys(codes))
        found: dict[str, Drug] = {}
        missing: list[str] = []
        for code in wanted:
            hit, drug = self._cached(code)
            if not hit:
                missing.append(code)
            elif drug is not None:
                found[code] = drug
        # One bulk call per chunk: a cold cache must not mean thousands of single reads.
        for start in range(0, len(missing), _LOOKUP_CHUNK):
            chunk = missing[start : start + _LOOKUP_CHUNK]
            known = await self._lookup(chunk)
            for code in chunk:
                drug = known.get(code)
                self._remember(code, drug)
                if drug is not None:
                    found[code] = drug
        return found

    async def _lookup(self, codes: list[str]) -> dict[str, Drug]:
        async with self._limit:
            response = await self.client.post(
                "/claims/v1/catalog/drugs/lookup", json={"codes": codes}
            )
        if response.status_code != 200:
            raise UpstreamUnavailable(
                f"claims answered {response.status_code} for a catalog lookup",
                extra={"upstream_status": response.status_code},
            )
        try:
            drugs = [parse_drug(item) for item in response.json()["found"]]
        except (KeyError, TypeError, ValueError):
            raise UpstreamUnavailable("claims answered a lookup this service cannot read") from None
        return {drug.code: drug for drug in drugs}
