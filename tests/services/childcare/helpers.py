"""Shared builders for the childcare API tests: every call makes unique data."""

import random
from datetime import date

from shared.validators import USCC_ALPHABET, make_id_number, make_uscc

API = "/childcare/v1"


def fresh_uscc(head: str = "91", county: str = "371602") -> str:
    tail = "".join(random.choice(USCC_ALPHABET[:10]) for _ in range(9))
    return make_uscc(f"{head}{county}{tail}")


def fresh_id_number(region: str = "371602") -> str:
    born = date(1960 + random.randrange(40), 1 + random.randrange(12), 1 + random.randrange(28))
    return make_id_number(region, born, random.randrange(1, 1000))


def institution_body(region_code: str = "371602001", **overrides) -> dict:
    body = {
        "uscc": fresh_uscc(county=region_code[:6]),
        "name": f"测试托育园{random.randrange(10**6)}",
        "nature": "for_profit",
        "registration_authority": "market_regulation",
        "form": "standalone",
        "region_code": region_code,
        "address": "测试路 1 号",
        "lat": 37.43,
        "lon": 118.02,
        "phone": "0543-3123456",
        "capacity": {"infant": 5, "toddler": 10, "preschool": 10},
        "service_modes": ["full_day", "hourly"],
        "fees": {
            "full_day": {"amount": "1800.00", "period": "month"},
            "hourly": {"amount": "30.5", "period": "hour"},
        },
        "facilities": {"indoor_area_m2": 300, "has_kitchen": True},
    }
    body.update(overrides)
    return body


async def new_institution(client, auth, region_code: str = "371602001", **overrides) -> dict:
    response = await client.post(
        f"{API}/institutions",
        json=institution_body(region_code, **overrides),
        headers=auth("admin"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def operator(auth, institution_id: int) -> dict:
    return auth("childcare_operator", str(institution_id))


def reviewer(auth, region: str = "371602") -> dict:
    return auth("childcare_reviewer", region)


async def act(client, headers, institution_id: int, action: str, reason: str | None = "理由"):
    return await client.post(
        f"{API}/institutions/{institution_id}/filings/{action}",
        json={"reason": reason},
        headers=headers,
    )


async def approved_institution(client, auth, region_code: str = "371602001", **overrides) -> dict:
    inst = await new_institution(client, auth, region_code, **overrides)
    county = region_code[:6]
    assert (await act(client, operator(auth, inst["id"]), inst["id"], "submit")).status_code == 200
    approved = await act(client, reviewer(auth, county), inst["id"], "approve")
    assert approved.status_code == 200, approved.text
    return inst
