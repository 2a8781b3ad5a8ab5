"""Childcare's scenario: the public search parents run (no token), through the gateway.

``prepare`` loads approved institutions up to 5,000, spread over the city's 88 townships (a
province-sized filing register is ~10x a city's), each with places, a fee and an inspection, so
the nearest-first search sorts a realistic candidate set.
"""

from __future__ import annotations

from typing import Any

from bench.scenarios import Scenario
from services.childcare.seed import load_bench_data
from shared.regions import townships

BENCH_INSTITUTIONS = 5000


async def prepare(ctx: Any) -> None:
    database = ctx.database("childcare")
    try:
        async with database.sessions() as session, session.begin():
            await load_bench_data(session, n=BENCH_INSTITUTIONS)
    finally:
        await database.dispose()


def _search_script() -> str:
    points = ", ".join(f"{{{t.lat}, {t.lon}}}" for t in townships())
    return f"""
wrk.method = "GET"
local points = {{{points}}}
local groups = {{"infant", "toddler", "preschool"}}
local counter = 0
request = function()
  -- a parent somewhere in the city, a different township and age group each request
  counter = counter + 1
  local p = points[(counter % #points) + 1]
  local g = groups[(counter % 3) + 1]
  return wrk.format(nil, "/childcare/v1/public/institutions?lat=" .. p[1] .. "&lon=" .. p[2]
    .. "&age_group=" .. g .. "&service_mode=full_day&vacancy=true&radius_m=10000&limit=20")
end
"""


def scenarios(ctx: Any) -> list[Scenario]:
    return [
        Scenario(
            "childcare_public_search",
            f"{ctx.gateway_url}/childcare/v1/public/institutions?lat=37.432&lon=118.02&limit=20",
            script=_search_script(),
            note=f"no token, nearest 20 of {BENCH_INSTITUTIONS} with age group, mode and vacancy",
        )
    ]
