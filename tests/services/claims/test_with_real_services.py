"""Settlement against the real enrollment and stations apps (in-process), no fakes: the
contract of services/claims/clients as those services implement it."""

from __future__ import annotations

import random
from datetime import date

from shared.validators import make_id_number
from tests.services.claims.conftest import item, key


def fresh_id_number() -> str:
    born = date(1950 + random.randrange(40), 1 + random.randrange(12), 1 + random.randrange(28))
    return make_id_number("371602", born, random.randrange(1000))


async def test_settle_with_a_voucher_code_end_to_end(
    claims, enrollment, stations, auth, claims_app
):
    admin = auth("admin")
    person = await enrollment.post(
        "/enrollment/v1/persons",
        json={"id_number": fresh_id_number(), "name": "王芳", "region_code": "371602001"},
        headers=admin,
    )
    assert person.status_code == 201, person.text
    person_id = person.json()["person_id"]
    coverage = await enrollment.post(
        f"/enrollment/v1/persons/{person_id}/coverages",
        json={"scheme": "employee", "start_date": "2024-01-01", "retired": True},
        headers=admin,
    )
    assert coverage.status_code == 201, coverage.text
    code = f"H371602{random.randrange(50000, 99999)}"
    created = await stations.post(
        "/stations/v1/institutions",
        json={
            "code": code,
            "name": "滨州市第二人民医院",
            "kind": "hospital",
            "tier": 3,
            "region_code": "371602",
            "lat": 37.38,
            "lon": 117.97,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    voucher = await enrollment.post(
        f"/enrollment/v1/persons/{person_id}/voucher-codes",
        headers=auth("app", person_id=person_id),
    )
    assert voucher.status_code == 201, voucher.text

    body = {
        "voucher_code": voucher.json()["code"],
        "institution_code": code,
        "visit_type": "inpatient",
        "service_date": "2024-08-01",
        "items": [item("20800.00", code="F0001")],
    }
    settled = await claims.post(
        "/claims/v1/settlements", json=body, headers=auth("institution", code) | key()
    )
    assert settled.status_code == 201, settled.text
    # retired employee, tier 3: D 800; 10,000 × 0.90 + 10,000 × 0.95 = 18,500
    assert (settled.json()["person_id"], settled.json()["basic_fund"]) == (person_id, "18500.00")
