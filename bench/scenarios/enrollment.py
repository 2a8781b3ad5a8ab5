"""Enrollment's scenarios: the eligibility read and voucher resolution, through the gateway.

``prepare`` loads persons up to 100,000 (each with a coverage period; some with approvals and
filings) into the bench database, so eligibility reads hit a realistically sized table.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import func, select

from bench.scenarios import Scenario
from services.enrollment.config import voucher_key
from services.enrollment.domain import voucher
from services.enrollment.models import Person
from services.enrollment.seed import load_bench_data
from shared.settings import get_settings

BENCH_PERSONS = 100_000
ELIGIBILITY_DATE = "2026-06-01"
_DISTINCT_REQUESTS = 5000
"""Persons asked about, spread over the whole table by a stride prime to its size."""
_loaded: dict[str, int] = {}


async def prepare(ctx: Any) -> None:
    database = ctx.database("enrollment")
    try:
        async with database.sessions() as session, session.begin():
            await load_bench_data(session, n=BENCH_PERSONS)
        async with database.sessions() as session:
            low, high = (
                await session.execute(select(func.min(Person.id), func.max(Person.id)))
            ).one()
        _loaded.update(low=int(low), high=int(high))
    finally:
        await database.dispose()


def _id_range(ctx: Any) -> tuple[int, int]:
    if not _loaded:
        asyncio.run(prepare(ctx))
    return _loaded["low"], _loaded["high"]


def _eligibility_script(ctx: Any, low: int, high: int) -> str:
    token = ctx.token("institution", bound="H37160200001")
    # Requests are formatted once, in init: building one per request in Lua costs wrk (which
    # shares the machine's cores with the stack) more than the gateway's own work.
    return f"""
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {token}"
local requests = {{}}
local count = {_DISTINCT_REQUESTS}
local counter = 0
init = function(args)
  for i = 1, count do
    local id = {low} + (i * 7919) % ({high - low + 1})
    requests[i] = wrk.format(nil, "/enrollment/v1/persons/" .. id .. "/eligibility?date={ELIGIBILITY_DATE}")
  end
end
request = function()
  counter = counter % count + 1
  return requests[counter]
end
"""


def scenarios(ctx: Any) -> list[Scenario]:
    low, high = _id_range(ctx)
    # Minted here with the services' key and a lifetime covering the whole run (a real code
    # lives 120 s); resolving it exercises the signature check, the person read and the log.
    code = voucher.issue(voucher_key(get_settings()), low, int(time.time()) + 3600)
    return [
        Scenario(
            "enrollment_eligibility",
            f"{ctx.gateway_url}/enrollment/v1/persons/{low}/eligibility?date={ELIGIBILITY_DATE}",
            script=_eligibility_script(ctx, low, high),
            note=f"institution token, {_DISTINCT_REQUESTS} persons spread over {high - low + 1}",
        ),
        Scenario(
            "enrollment_voucher_resolve",
            f"{ctx.gateway_url}/enrollment/v1/voucher-codes/resolve",
            method="POST",
            headers={
                **ctx.auth("pharmacy", bound="P37160200007"),
                "Content-Type": "application/json",
            },
            body=json.dumps({"code": code}),
            note="pharmacy token, signature check + person read + access log write",
        ),
    ]
