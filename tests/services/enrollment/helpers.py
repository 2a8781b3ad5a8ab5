"""Helpers shared by the enrollment tests: unique persons and employers per call."""

from __future__ import annotations

import random
import secrets
from datetime import date
from typing import Any

from shared.validators import USCC_ALPHABET, make_id_number, make_uscc

BASE = "/enrollment/v1"


def fresh_id_number() -> str:
    # Birth region 3716xx and a random date and sequence: collisions across a run are negligible
    # and harmless (the caller retries on 409).
    return make_id_number(
        random.choice(("371602", "371603", "371621", "371622")),
        date(1940 + random.randrange(70), 1 + random.randrange(12), 1 + random.randrange(28)),
        random.randrange(1000),
    )


def fresh_uscc() -> str:
    org = "".join(secrets.choice(USCC_ALPHABET) for _ in range(9))
    return make_uscc(f"91371602{org}")


async def new_person(client: Any, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    for _ in range(5):
        body = {"id_number": fresh_id_number(), "name": "测试人", "region_code": "371602001"}
        body.update(fields)
        response = await client.post(f"{BASE}/persons", json=body, headers=headers)
        if response.status_code == 201:
            result: dict[str, Any] = response.json()
            return result
        assert response.status_code == 409, response.text
    raise AssertionError("could not make a fresh person")


async def new_employer(client: Any, headers: dict[str, str]) -> str:
    uscc = fresh_uscc()
    response = await client.post(
        f"{BASE}/employers",
        json={"uscc": uscc, "name": "测试单位", "region_code": "371602"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return uscc
