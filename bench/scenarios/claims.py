"""Claims' scenarios: preview and settle through the gateway, each calling enrollment for
eligibility and stations for the institution, so the whole settlement path is measured.

``prepare`` also puts the 5,000 drug codes of stations' inventory scenario into the catalog, so
that upsert measures success rather than rejection.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from bench.scenarios import Scenario
from bench.scenarios.enrollment import ELIGIBILITY_DATE, covered_person_ids, lua_id_list
from bench.scenarios.stations import BENCH_DRUG_CODES
from services.claims.models import Drug

INSTITUTION = "H37160200001"


async def prepare(ctx: Any) -> None:
    database = ctx.database("claims")
    rows = [
        {
            "code": code,
            "generic_name": f"基准测试药品{n}",
            "pinyin_initials": f"JZCSYP{n}",
            "dosage_form": "片剂",
            "specification": "10mg*30片",
            "manufacturer": "基准制药",
            "category": "B",
            "procured": False,
            "payment_standard": Decimal("300.00"),
        }
        for n, code in enumerate(BENCH_DRUG_CODES, start=1)
    ]
    try:
        async with database.sessions() as session, session.begin():
            for start in range(0, len(rows), 1000):
                await session.execute(
                    insert(Drug).on_conflict_do_nothing(), rows[start : start + 1000]
                )
            # Every run settles the same covered persons on the same day. Kept from run to run,
            # the earlier runs' settlements made each new one a duplicate bill of all of them
            # (a flag per earlier settlement, read and written) and filled the caps, so the
            # figure fell with the number of runs before it: start each run from none.
            await session.execute(
                text("TRUNCATE settlements, accumulators, audit_flags, idempotency_keys")
            )
    finally:
        await database.dispose()


def _lua_body() -> str:
    """The request body as a Lua expression with the person's id spliced in (long brackets:
    the JSON needs no escaping)."""
    rest = {
        "institution_code": INSTITUTION,
        "visit_type": "general_outpatient",
        "service_date": ELIGIBILITY_DATE,
        "prescription_id": "RX-1",
        "items": [
            {
                "code": "XA0001",
                "name": "阿司匹林肠溶片",
                "category": "A",
                "quantity": "1",
                "unit_price": "7.07",
            },
            {
                "code": "F0001",
                "name": "诊查费",
                "category": "B",
                "quantity": "1",
                "unit_price": "20.00",
            },
        ],
    }
    return '[[{"person_id": ]] .. id .. [[, ' + json.dumps(rest, ensure_ascii=False)[1:] + "]]"


def _script(ctx: Any, path: str, idempotent: bool) -> str:
    ids = covered_person_ids(ctx)
    token = ctx.token("institution", bound=INSTITUTION)
    key = 'headers["Idempotency-Key"] = tid .. "-" .. stamp .. "-" .. counter' if idempotent else ""
    # wrk.format(method, path, headers, body) replaces wrk.headers: the table repeats them all.
    return f"""
local thread_ids = 0
setup = function(thread)
  thread_ids = thread_ids + 1
  thread:set("tid", thread_ids)
end
tid = 0
ids = {lua_id_list(ids)}
stamp = tostring(os.time())
counter = 0
request = function()
  counter = counter + 1
  -- a different person each request, spread so per-person locks do not contend
  local id = ids[counter % #ids + 1]
  local headers = {{}}
  headers["Authorization"] = "Bearer {token}"
  headers["Content-Type"] = "application/json"
  {key}
  return wrk.format("POST", "{path}", headers, {_lua_body()})
end
"""


def scenarios(ctx: Any) -> list[Scenario]:
    return [
        Scenario(
            "claims_preview",
            f"{ctx.gateway_url}/claims/v1/settlements/preview",
            script=_script(ctx, "/claims/v1/settlements/preview", idempotent=False),
            note="institution token; eligibility and institution read over HTTP; nothing recorded",
        ),
        Scenario(
            "claims_settle",
            f"{ctx.gateway_url}/claims/v1/settlements",
            script=_script(ctx, "/claims/v1/settlements", idempotent=True),
            note="as preview, recorded in one transaction with a fresh Idempotency-Key",
        ),
    ]
