"""Concurrent settlements' eligibility reads go to enrollment together (EligibilityCoalescer),
each answered as if asked alone, against the real enrollment app in-process."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest
from fastapi import FastAPI

from services.claims.clients.enrollment import EligibilityCoalescer
from shared.errors import NotFound, UpstreamUnavailable
from shared.http import Upstream
from tests.services.enrollment.helpers import BASE, new_person

DAY = date(2024, 6, 1)


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: FastAPI, fail: bool = False) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.fail = fail
        self.calls: list[str] = []
        self.sent = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        self.sent.set()
        if self.fail:
            return httpx.Response(500)
        return await self.inner.handle_async_request(request)


def _coalescer(app: FastAPI, fail: bool = False) -> tuple[EligibilityCoalescer, CountingTransport]:
    transport = CountingTransport(app, fail)
    client = Upstream("enrollment", "http://enrollment", transport=transport, retries=0)
    return EligibilityCoalescer(client), transport


async def _persons(enrollment, auth, count: int) -> list[int]:
    staff = auth("station", "1")
    ids = []
    for n in range(count):
        pid = (await new_person(enrollment, staff))["person_id"]
        if n % 2 == 0:  # every other one covered on DAY
            covered = await enrollment.post(
                f"{BASE}/persons/{pid}/coverages",
                json={"scheme": "resident", "start_date": "2024-01-01"},
                headers=staff,
            )
            assert covered.status_code == 201, covered.text
        ids.append(pid)
    return ids


async def test_concurrent_reads_share_calls_and_each_gets_its_own_answer(
    service_apps, enrollment, auth
):
    ids = await _persons(enrollment, auth, 12)
    coalescer, transport = _coalescer(service_apps["enrollment"])
    institution = auth("institution", "H37160200001")["Authorization"]
    answers = await asyncio.gather(*(coalescer.eligibility(institution, p, DAY) for p in ids))
    assert [a.person_id for a in answers] == ids
    assert [a.eligible for a in answers] == [n % 2 == 0 for n in range(12)]
    # Asked in the same turn of the event loop: one call for all of them.
    assert transport.calls == [f"POST {BASE}/eligibility/batch"]
    assert not coalescer._busy and not coalescer._waiting
    # A question alone is the plain read; those arriving while it is in flight wait, together.
    transport.sent.clear()
    first = asyncio.create_task(coalescer.eligibility(institution, ids[0], DAY))
    await transport.sent.wait()
    rest = await asyncio.gather(*(coalescer.eligibility(institution, p, DAY) for p in ids[1:]))
    assert (await first).person_id == ids[0] and [a.person_id for a in rest] == ids[1:]
    assert transport.calls[1:] == [
        f"GET {BASE}/persons/{ids[0]}/eligibility",
        f"POST {BASE}/eligibility/batch",
    ]


async def test_a_person_not_found_fails_only_that_read(service_apps, enrollment, auth):
    ids = await _persons(enrollment, auth, 3)
    coalescer, _ = _coalescer(service_apps["enrollment"])
    institution = auth("institution", "H37160200001")["Authorization"]
    asked = [ids[0], 2**62, ids[1], 2**62 + 1, ids[2]]
    results = await asyncio.gather(
        *(coalescer.eligibility(institution, p, DAY) for p in asked), return_exceptions=True
    )
    assert [type(r) for r in results] == [
        type(results[0]),
        NotFound,
        type(results[0]),
        NotFound,
        type(results[0]),
    ]
    assert [r.person_id for r in results if not isinstance(r, Exception)] == ids


async def test_callers_are_never_mixed_in_one_call(service_apps, enrollment, auth):
    ids = await _persons(enrollment, auth, 2)
    coalescer, transport = _coalescer(service_apps["enrollment"])
    mine, other = (auth("app", person_id=p)["Authorization"] for p in ids)
    results = await asyncio.gather(
        coalescer.eligibility(mine, ids[0], DAY),
        coalescer.eligibility(other, ids[1], DAY),
        coalescer.eligibility(mine, ids[1], DAY),  # not this app's person: 404 from enrollment
        return_exceptions=True,
    )
    assert results[0].person_id == ids[0] and results[1].person_id == ids[1]
    assert isinstance(results[2], NotFound)
    # Two callers, each its own call: a batch for the one asking twice, the plain read for the other.
    assert sorted(transport.calls) == [
        f"GET {BASE}/persons/{ids[1]}/eligibility",
        f"POST {BASE}/eligibility/batch",
    ]


async def test_a_failed_call_fails_every_read_in_it_and_the_next_ones_go_again(
    service_apps, enrollment, auth
):
    ids = await _persons(enrollment, auth, 4)
    coalescer, transport = _coalescer(service_apps["enrollment"], fail=True)
    institution = auth("institution", "H37160200001")["Authorization"]
    results = await asyncio.gather(
        *(coalescer.eligibility(institution, p, DAY) for p in ids), return_exceptions=True
    )
    assert all(isinstance(r, UpstreamUnavailable) for r in results), results
    transport.fail = False
    answer = await coalescer.eligibility(institution, ids[0], DAY)
    assert answer.person_id == ids[0] and answer.eligible


async def test_a_reader_that_goes_away_does_not_stop_the_others(service_apps, enrollment, auth):
    ids = await _persons(enrollment, auth, 3)
    coalescer, _ = _coalescer(service_apps["enrollment"])
    institution = auth("institution", "H37160200001")["Authorization"]
    reads = [asyncio.create_task(coalescer.eligibility(institution, p, DAY)) for p in ids]
    await asyncio.sleep(0)
    reads[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await reads[1]
    assert (await reads[0]).person_id == ids[0]
    assert (await reads[2]).person_id == ids[2]
