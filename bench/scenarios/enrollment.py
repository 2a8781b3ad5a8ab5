"""Enrollment's scenarios: the eligibility read and voucher resolution, through the gateway.

``prepare`` loads persons up to 100,000 (each with a coverage period; some with approvals and
filings) into the bench database, so eligibility reads hit a realistically sized table.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from typing import Any

from sqlalchemy import Text, func, or_, select

from bench.scenarios import Scenario
from services.enrollment.config import voucher_key
from services.enrollment.domain import voucher
from services.enrollment.models import Coverage
from services.enrollment.seed import load_bench_data
from shared.settings import get_settings

BENCH_PERSONS = 100_000
ELIGIBILITY_DATE = "2026-06-01"
_DISTINCT_REQUESTS = 5000
"""Persons asked about, spread over the whole table by a stride prime to its size."""
_covered: list[int] = []


async def prepare(ctx: Any) -> None:
    database = ctx.database("enrollment")
    try:
        async with database.sessions() as session, session.begin():
            await load_bench_data(session, n=BENCH_PERSONS)
        async with database.sessions() as session:
            # Real persons covered on the asked day, spread over the table: a scenario that
            # meets gaps in the ids or uncovered persons measures its 404s and 422s instead.
            day = date.fromisoformat(ELIGIBILITY_DATE)
            covered = (
                select(Coverage.person_id)
                .where(
                    Coverage.start_date <= day,
                    or_(Coverage.end_date.is_(None), Coverage.end_date >= day),
                )
                .distinct()
                .subquery()
            )
            ids = list(
                await session.scalars(
                    select(covered.c.person_id)
                    .order_by(func.md5(func.cast(covered.c.person_id, Text)))
                    .limit(_DISTINCT_REQUESTS)
                )
            )
        _covered.extend(sorted(ids))
    finally:
        await database.dispose()


def covered_person_ids(ctx: Any) -> list[int]:
    """Ids of persons covered on :data:`ELIGIBILITY_DATE`, for every scenario that asks."""
    if not _covered:
        asyncio.run(prepare(ctx))
    return _covered


def lua_id_list(ids: list[int]) -> str:
    """A Lua table literal of person ids."""
    return "{" + ",".join(str(i) for i in ids) + "}"


def _eligibility_script(ctx: Any, ids: list[int]) -> str:
    token = ctx.token("institution", bound="H37160200001")
    # Requests are formatted once, in init: building one per request in Lua costs wrk (which
    # shares the machine's cores with the stack) more than the gateway's own work.
    return f"""
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {token}"
local requests = {{}}
local ids = {lua_id_list(ids)}
local count = #ids
local counter = 0
init = function(args)
  for i = 1, count do
    local id = ids[i]
    requests[i] = wrk.format(nil, "/enrollment/v1/persons/" .. id .. "/eligibility?date={ELIGIBILITY_DATE}")
  end
end
request = function()
  counter = counter % count + 1
  return requests[counter]
end
"""


def scenarios(ctx: Any) -> list[Scenario]:
    ids = covered_person_ids(ctx)
    # Minted here with the services' key and a lifetime covering the whole run (a real code
    # lives 120 s); resolving it exercises the signature check, the person read and the log.
    code = voucher.issue(voucher_key(get_settings()), ids[0], int(time.time()) + 3600)
    return [
        Scenario(
            "enrollment_eligibility",
            f"{ctx.gateway_url}/enrollment/v1/persons/{ids[0]}/eligibility?date={ELIGIBILITY_DATE}",
            script=_eligibility_script(ctx, ids),
            note=f"institution token, {len(ids)} covered persons spread over {BENCH_PERSONS:,}",
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
