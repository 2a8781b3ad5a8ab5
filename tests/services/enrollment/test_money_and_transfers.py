"""Contributions, the government-paid batch and transfers in and out of the city."""

from __future__ import annotations

import random

from tests.services.enrollment.helpers import BASE, new_person


async def test_government_batch_pays_each_poverty_person_once_a_year(enrollment, auth):
    admin = auth("admin")
    poor = (await new_person(enrollment, admin, poverty=True))["person_id"]
    other = (await new_person(enrollment, admin))["person_id"]
    year = random.randrange(1998, 2100)
    body = {"year": year, "amount_per_person": "334.38", "paid_on": "2024-01-15"}
    first = await enrollment.post(
        f"{BASE}/contributions/government-batches", json=body, headers=admin
    )
    assert first.status_code == 201, first.text
    batch = first.json()
    assert batch["persons"] >= 1
    assert batch["total"] == f"{334.38 * batch['persons']:.2f}"
    history = (
        await enrollment.get(
            f"{BASE}/persons/{poor}/contributions", headers=auth("app", person_id=poor)
        )
    ).json()
    paid = [c for c in history if c["year"] == year]
    assert len(paid) == 1
    assert paid[0]["amount"] == "334.38" and paid[0]["payer"] == "government"
    assert paid[0]["batch_id"] == batch["batch_id"]
    assert (
        await enrollment.get(f"{BASE}/persons/{other}/contributions", headers=admin)
    ).json() == []

    second = await enrollment.post(
        f"{BASE}/contributions/government-batches", json=body, headers=admin
    )
    history = (await enrollment.get(f"{BASE}/persons/{poor}/contributions", headers=admin)).json()
    assert len([c for c in history if c["year"] == year]) == 1
    assert second.json()["persons"] < batch["persons"] or second.json()["persons"] == 0
    assert (
        await enrollment.post(
            f"{BASE}/contributions/government-batches", json=body, headers=auth("station", "1")
        )
    ).status_code == 403


async def test_person_contribution_and_history(enrollment, auth):
    station = auth("station", "1")
    pid = (await new_person(enrollment, station))["person_id"]
    for year in (2024, 2025):
        made = await enrollment.post(
            f"{BASE}/persons/{pid}/contributions",
            json={
                "year": year,
                "scheme": "resident",
                "payer": "person",
                "amount": "380",
                "paid_on": f"{year - 1}-12-01",
            },
            headers=station,
        )
        assert made.status_code == 201, made.text
    history = (await enrollment.get(f"{BASE}/persons/{pid}/contributions", headers=station)).json()
    assert [(c["year"], c["amount"]) for c in history] == [(2025, "380.00"), (2024, "380.00")]
    bad = await enrollment.post(
        f"{BASE}/persons/{pid}/contributions",
        json={
            "year": 2026,
            "scheme": "resident",
            "payer": "person",
            "amount": "1.234",
            "paid_on": "2025-12-01",
        },
        headers=station,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.amount"


async def test_transfer_states_and_completion_ends_local_coverage(enrollment, auth):
    admin = auth("admin")
    pid = (await new_person(enrollment, admin))["person_id"]
    await enrollment.post(
        f"{BASE}/persons/{pid}/coverages",
        json={"scheme": "resident", "start_date": "2020-01-01"},
        headers=admin,
    )
    in_city = await enrollment.post(
        f"{BASE}/persons/{pid}/transfers",
        json={"direction": "out", "other_region": "371603", "effective_date": "2025-01-01"},
        headers=admin,
    )
    assert in_city.status_code == 422
    assert in_city.json()["errors"][0]["field"] == "body.other_region"
    made = await enrollment.post(
        f"{BASE}/persons/{pid}/transfers",
        json={"direction": "out", "other_region": "370102", "effective_date": "2025-01-01"},
        headers=admin,
    )
    assert made.status_code == 201 and made.json()["state"] == "requested"
    tid = made.json()["transfer_id"]
    assert (
        await enrollment.post(f"{BASE}/transfers/{tid}/complete", headers=admin)
    ).status_code == 409
    approved = await enrollment.post(f"{BASE}/transfers/{tid}/approve", headers=admin)
    assert approved.json()["state"] == "approved"
    assert (
        await enrollment.post(f"{BASE}/transfers/{tid}/reject", json={"reason": "x"}, headers=admin)
    ).status_code == 409
    done = await enrollment.post(f"{BASE}/transfers/{tid}/complete", headers=admin)
    assert done.status_code == 200 and done.json()["state"] == "completed"
    coverage = (await enrollment.get(f"{BASE}/persons/{pid}/coverages", headers=admin)).json()
    assert coverage[0]["end_date"] == "2024-12-31"
    listed = await enrollment.get(
        f"{BASE}/persons/{pid}/transfers", headers=auth("app", person_id=pid)
    )
    assert [t["state"] for t in listed.json()] == ["completed"]

    rejected = await enrollment.post(
        f"{BASE}/persons/{pid}/transfers",
        json={"direction": "in", "other_region": "370102", "effective_date": "2026-01-01"},
        headers=admin,
    )
    r = await enrollment.post(
        f"{BASE}/transfers/{rejected.json()['transfer_id']}/reject",
        json={"reason": "no record in the other city"},
        headers=admin,
    )
    assert r.json()["state"] == "rejected" and r.json()["reason"] == "no record in the other city"
    assert (
        await enrollment.post(f"{BASE}/transfers/999999999/approve", headers=admin)
    ).status_code == 404
