"""Settlement endpoints: preview, settle, idempotency, reversal, reads, concurrency, outages."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import httpx
import pytest

from services.claims.clients import enrollment_client
from services.claims.clients.enrollment import HttpEnrollmentClient
from shared.http import Upstream
from tests.services.claims.conftest import HOSPITAL, OFFSITE, PHARMACY, item, key, visit

INSTITUTION = {"kind": "institution", "bound": HOSPITAL}


async def test_preview_records_nothing(claims, auth, fakes):
    person = fakes.person("employee")
    body = visit(person, item("10500.00"), visit_type="inpatient")
    answer = await claims.post(
        "/claims/v1/settlements/preview", json=body, headers=auth(**INSTITUTION)
    )
    assert answer.status_code == 200, answer.text
    eob = answer.json()
    # tier 2: deductible 500, (10,500 − 500) × 0.90 = 9,000
    assert (eob["settlement_id"], eob["status"]) == (None, "preview")
    assert (eob["deductible"], eob["basic_fund"], eob["personal_pay"]) == (
        "500.00",
        "9000.00",
        "1500.00",
    )
    assert eob["accumulators"]["inpatient_admissions"] == 1
    after = await claims.get(
        f"/claims/v1/persons/{person}/accumulators?year=2024", headers=auth("admin")
    )
    assert after.json()["pools"] == [] and after.json()["inpatient_admissions"] == 0


async def test_settle_read_list_and_reverse_restores(claims, auth, fakes):
    person = fakes.person("resident", poverty=True)
    headers = auth(**INSTITUTION)
    body = visit(person, item("20500.00"), visit_type="inpatient")
    settled = await claims.post("/claims/v1/settlements", json=body, headers=headers | key())
    assert settled.status_code == 201, settled.text
    eob = settled.json()
    # resident tier 2: base 20,000 × 0.75 = 15,000; self-pay 5,500 < 7,500 (poverty threshold)
    # assistance 5,500 × 0.7 = 3,850; personal 1,650
    assert (eob["basic_fund"], eob["critical_illness"], eob["medical_assistance"]) == (
        "15000.00",
        "0.00",
        "3850.00",
    )
    assert eob["personal_pay"] == "1650.00"
    sid = eob["settlement_id"]
    read = await claims.get(f"/claims/v1/settlements/{sid}", headers=auth("app", person_id=person))
    assert read.status_code == 200 and read.json()["basic_fund"] == "15000.00"
    other_app = await claims.get(
        f"/claims/v1/settlements/{sid}", headers=auth("app", person_id=person + 1)
    )
    assert other_app.status_code == 404
    listed = await claims.get(
        f"/claims/v1/persons/{person}/settlements", headers=auth("station", "1")
    )
    assert [s["settlement_id"] for s in listed.json()["items"]] == [sid]

    acc = (
        await claims.get(
            f"/claims/v1/persons/{person}/accumulators?year=2024",
            headers=auth("app", person_id=person),
        )
    ).json()
    pools = {p["pool"]: p["used"] for p in acc["pools"]}
    assert pools["resident_basic"] == "15000.00" and pools["medical_assistance"] == "3850.00"
    assert acc["inpatient_admissions"] == 1

    reversal_key = key()
    reversed_ = await claims.post(
        f"/claims/v1/settlements/{sid}/reversal", headers=headers | reversal_key
    )
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["status"] == "reversed"
    acc = (
        await claims.get(
            f"/claims/v1/persons/{person}/accumulators?year=2024", headers=auth("admin")
        )
    ).json()
    assert all(Decimal(p["used"]) == 0 for p in acc["pools"]) and acc["inpatient_admissions"] == 0
    again = await claims.post(
        f"/claims/v1/settlements/{sid}/reversal", headers=headers | reversal_key
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    twice = await claims.post(f"/claims/v1/settlements/{sid}/reversal", headers=headers | key())
    assert twice.status_code == 409


async def test_third_admission_counts_only_admissions_not_reversed(claims, auth, fakes):
    person = fakes.person("resident")
    headers = auth(**INSTITUTION)
    body = visit(person, item("10500.00"), visit_type="inpatient")
    ids = []
    for _ in range(2):
        r = await claims.post("/claims/v1/settlements", json=body, headers=headers | key())
        assert r.json()["deductible"] == "500.00"
        ids.append(r.json()["settlement_id"])
    await claims.post(f"/claims/v1/settlements/{ids[0]}/reversal", headers=headers | key())
    second = await claims.post("/claims/v1/settlements", json=body, headers=headers | key())
    assert second.json()["deductible"] == "500.00"  # still the 2nd admission not reversed
    third = await claims.post("/claims/v1/settlements", json=body, headers=headers | key())
    assert third.json()["deductible"] == "0.00"


async def test_same_key_pays_once_other_body_is_422(claims, auth, fakes):
    person = fakes.person("employee")
    headers = auth(**INSTITUTION) | key()
    body = visit(person)
    first = await claims.post("/claims/v1/settlements", json=body, headers=headers)
    again = await claims.post("/claims/v1/settlements", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = await claims.post(
        "/claims/v1/settlements", json=visit(person, item("99.00")), headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    listed = await claims.get(f"/claims/v1/persons/{person}/settlements", headers=auth("admin"))
    assert len(listed.json()["items"]) == 1


async def test_concurrent_same_key_pays_once(claims, auth, fakes):
    person = fakes.person("employee")
    headers = auth(**INSTITUTION) | key()
    answers = await asyncio.gather(
        *(
            claims.post("/claims/v1/settlements", json=visit(person), headers=headers)
            for _ in range(10)
        )
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["settlement_id"] for a in answers}) == 1
    listed = await claims.get(f"/claims/v1/persons/{person}/settlements", headers=auth("admin"))
    assert len(listed.json()["items"]) == 1


async def test_fifty_concurrent_settlements_pay_exactly_the_outpatient_cap(claims, auth, fakes):
    person = fakes.person("resident")
    headers = auth("pharmacy", PHARMACY)
    body = visit(person, item("100.00"), institution_code=PHARMACY)
    answers = await asyncio.gather(
        *(
            claims.post("/claims/v1/settlements", json=body, headers=headers | key())
            for _ in range(50)
        )
    )
    assert {a.status_code for a in answers} == {201}
    # each visit would pay 100 × 0.6 = 60; 50 of them 3,000, but the resident cap is 400
    paid = sum(Decimal(a.json()["basic_fund"]) for a in answers)
    assert paid == Decimal("400.00")
    acc = (
        await claims.get(
            f"/claims/v1/persons/{person}/accumulators?year=2024", headers=auth("admin")
        )
    ).json()
    assert acc["pools"] == [
        {
            "pool": "resident_general_outpatient",
            "used": "400.00",
            "annual_cap": "400.00",
            "remaining": "0.00",
        }
    ]


async def test_institution_acts_only_at_its_own(claims, auth, fakes):
    person = fakes.person("employee")
    elsewhere = await claims.post(
        "/claims/v1/settlements",
        json=visit(person, institution_code="H37160200002"),
        headers=auth(**INSTITUTION) | key(),
    )
    assert elsewhere.status_code == 403
    app = await claims.post(
        "/claims/v1/settlements/preview", json=visit(person), headers=auth("app", person_id=person)
    )
    assert app.status_code == 403
    none = await claims.post("/claims/v1/settlements/preview", json=visit(person))
    assert none.status_code == 401


async def test_rule_violations_are_422_naming_the_field(claims, auth, fakes):
    person = fakes.person("resident", qualifications=[])
    chronic = await claims.post(
        "/claims/v1/settlements/preview",
        json=visit(person, visit_type="chronic", disease_code="E11"),
        headers=auth(**INSTITUTION),
    )
    assert chronic.status_code == 422
    assert chronic.json()["errors"][0]["field"] == "body.disease_code"
    offsite = await claims.post(
        "/claims/v1/settlements/preview",
        json=visit(person, institution_code=OFFSITE),
        headers=auth("admin"),
    )
    assert offsite.status_code == 422 and "off-site filing" in offsite.json()["detail"]
    uncovered = fakes.person(None)
    refused = await claims.post(
        "/claims/v1/settlements/preview", json=visit(uncovered), headers=auth("admin")
    )
    assert refused.status_code == 422
    both = await claims.post(
        "/claims/v1/settlements/preview",
        json={**visit(person), "voucher_code": "x"},
        headers=auth("admin"),
    )
    assert both.status_code == 422


async def test_voucher_code_stands_in_for_the_person(claims, auth, fakes):
    person = fakes.person(
        "resident",
        qualifications=[
            {"kind": "two_disease", "disease_code": "diabetes", "start_date": "2024-01-01"}
        ],
    )
    fakes.enrollment.vouchers["QR1"] = person
    body = visit(person, item("600.00"), visit_type="two_disease")
    del body["person_id"]
    body["voucher_code"] = "QR1"
    answer = await claims.post(
        "/claims/v1/settlements", json=body, headers=auth("pharmacy", PHARMACY) | key()
    )
    assert answer.status_code == 403  # a pharmacy settles only at its own pharmacy
    body["institution_code"] = PHARMACY
    answer = await claims.post(
        "/claims/v1/settlements", json=body, headers=auth("pharmacy", PHARMACY) | key()
    )
    assert answer.status_code == 201, answer.text
    # diabetes only: 600 × 0.6 = 360, under its 400 cap
    assert (answer.json()["person_id"], answer.json()["basic_fund"]) == (person, "360.00")


class _Down(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


async def test_enrollment_down_is_503_and_nothing_recorded(claims, auth, fakes, claims_app):
    person = fakes.person("employee")
    down = Upstream("enrollment", "http://enrollment", retries=0, transport=_Down())
    claims_app.dependency_overrides[enrollment_client] = lambda: HttpEnrollmentClient(down, None)
    try:
        answer = await claims.post(
            "/claims/v1/settlements", json=visit(person), headers=auth(**INSTITUTION) | key()
        )
    finally:
        claims_app.dependency_overrides[enrollment_client] = lambda: fakes.enrollment
        await down.aclose()
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    listed = await claims.get(f"/claims/v1/persons/{person}/settlements", headers=auth("admin"))
    assert listed.json()["items"] == []
    acc = await claims.get(
        f"/claims/v1/persons/{person}/accumulators?year=2024", headers=auth("admin")
    )
    assert acc.json()["pools"] == []


async def test_a_new_policy_version_applies_from_its_date(claims, auth, fakes):
    policies = (await claims.get("/claims/v1/policies")).json()
    default = next(p for p in policies if p["code"] == "BZ-2022")
    assert default["parameters"]["employee"]["inpatient_deductible"] == {
        "1": "200",
        "2": "500",
        "3": "800",
    }
    parameters = default["parameters"]
    parameters["employee"]["general_outpatient_rate"] = "0.70"
    new = {
        "code": "TEST-2029",
        "effective_from": "2029-01-01",
        "description": "test",
        "parameters": parameters,
    }
    assert (
        await claims.post("/claims/v1/policies", json=new, headers=auth("station", "1"))
    ).status_code == 403
    created = await claims.post("/claims/v1/policies", json=new, headers=auth("admin"))
    assert created.status_code == 201, created.text
    assert (
        await claims.post("/claims/v1/policies", json=new, headers=auth("admin"))
    ).status_code == 409
    person = fakes.person("employee")
    old = await claims.post(
        "/claims/v1/settlements/preview",
        json=visit(person, service_date="2028-12-31"),
        headers=auth("admin"),
    )
    later = await claims.post(
        "/claims/v1/settlements/preview",
        json=visit(person, service_date="2029-01-01"),
        headers=auth("admin"),
    )
    assert (old.json()["basic_fund"], old.json()["policy_code"]) == ("65.00", "BZ-2022")
    assert (later.json()["basic_fund"], later.json()["policy_code"]) == ("70.00", "TEST-2029")
    bad = {**new, "code": "TEST-BAD", "effective_from": "2030-01-01"}
    bad["parameters"] = {**parameters, "class_b_prior_self_pay": "1.5"}
    invalid = await claims.post("/claims/v1/policies", json=bad, headers=auth("admin"))
    assert invalid.status_code == 422


async def test_pages_other_institutions_and_old_keys(claims, auth, fakes, claims_app):
    from sqlalchemy import select, text

    from services.claims import idempotency
    from services.claims.models import IdempotencyKey

    person = fakes.person("employee")
    headers = auth(**INSTITUTION)
    ids = []
    for n in range(3):
        body = visit(person, item(f"{n + 1}0.00", code=f"F000{n}"))
        ids.append(
            (
                await claims.post("/claims/v1/settlements", json=body, headers=headers | key())
            ).json()["settlement_id"]
        )
    url = f"/claims/v1/persons/{person}/settlements"
    first = (await claims.get(url, params={"limit": 2}, headers=auth("admin"))).json()
    rest = (
        await claims.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth("admin")
        )
    ).json()
    assert [s["settlement_id"] for s in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    other = auth("institution", "H37160200002")
    assert (await claims.get(f"/claims/v1/settlements/{ids[0]}", headers=other)).status_code == 404
    reversal = await claims.post(f"/claims/v1/settlements/{ids[0]}/reversal", headers=other | key())
    assert reversal.status_code == 404
    old_year = await claims.get(
        f"/claims/v1/persons/{person}/accumulators?year=2019", headers=auth("admin")
    )
    assert old_year.status_code == 200 and old_year.json()["pools"] == []
    fresh = f"fresh-{ids[0]}"
    kept = await claims.post(
        "/claims/v1/settlements",
        json=visit(person, item("5.00", code="F0009")),
        headers=headers | {"Idempotency-Key": fresh},
    )
    assert kept.status_code == 201, kept.text

    engine = claims_app.state.database.engine
    client = f"test-institution-{HOSPITAL}"
    async with claims_app.state.database.sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE idempotency_keys SET created_at = now() - interval '3 days' "
                "WHERE client_id = :c AND key <> :fresh"
            ),
            {"c": client, "fresh": fresh},
        )
    # Another process purging: this one leaves it to them.
    lock = {"ns": idempotency.PURGE_LOCK[0], "k": idempotency.PURGE_LOCK[1]}
    async with engine.connect() as other:
        await other.execute(
            text("SELECT pg_advisory_lock(:ns, :k)"),
            lock,
        )
        assert await idempotency.purge_expired(engine, keep_hours=48) is None
        await other.execute(
            text("SELECT pg_advisory_unlock(:ns, :k)"),
            lock,
        )
    # In batches smaller than the backlog, until none is left.
    assert await idempotency.purge_expired(engine, keep_hours=48, batch=2) >= 3
    async with claims_app.state.database.sessions() as session:
        left = await session.scalars(
            select(IdempotencyKey.key).where(IdempotencyKey.client_id == client)
        )
        assert list(left) == [fresh]  # a key younger than 48 h stays


async def test_settlements_land_in_the_partition_of_their_service_year(
    claims, auth, fakes, claims_app
):
    from sqlalchemy import text

    person = fakes.person("employee")
    headers = auth(**INSTITUTION)
    ids = {}
    for day in ("2024-12-31", "2025-01-01"):
        settled = await claims.post(
            "/claims/v1/settlements", json=visit(person, service_date=day), headers=headers | key()
        )
        assert settled.status_code == 201, settled.text
        ids[day] = settled.json()["settlement_id"]
    async with claims_app.state.database.sessions() as session:
        strategy = await session.scalar(
            text(
                "SELECT p.partstrat::text || ':' || a.attname FROM pg_partitioned_table p"
                " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
                " WHERE p.partrelid = 'settlements'::regclass"
            )
        )
        assert strategy == "r:service_date"  # range-partitioned by the service date
        homes = {
            day: await session.scalar(
                text("SELECT tableoid::regclass::text FROM settlements WHERE id = :id"),
                {"id": sid},
            )
            for day, sid in ids.items()
        }
    assert homes == {"2024-12-31": "settlements_2024", "2025-01-01": "settlements_2025"}


async def test_each_claims_process_purges_expired_keys_in_the_background(settings_for):
    from sqlalchemy import text

    from services.claims.app import create_app
    from services.claims.config import ClaimsSettings
    from tests.conftest import running

    app = create_app(
        settings_for("claims"),
        own=ClaimsSettings(idempotency_keep_hours=24, idempotency_purge_interval_seconds=0.05),
    )
    client_id = f"purge-test-{random.getrandbits(32):x}"
    async with running(app):
        async with app.state.database.sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO idempotency_keys (client_id, key, request_hash, created_at)"
                    " VALUES (:c, 'old', 'h', now() - interval '25 hours'),"
                    " (:c, 'young', 'h', now() - interval '23 hours')"
                ),
                {"c": client_id},
            )
        for _ in range(100):
            await asyncio.sleep(0.05)
            async with app.state.database.sessions() as session:
                keys = set(
                    await session.scalars(
                        text("SELECT key FROM idempotency_keys WHERE client_id = :c"),
                        {"c": client_id},
                    )
                )
            if keys == {"young"}:
                break
        assert keys == {"young"}


async def test_a_failed_purge_still_releases_its_lock(claims_app):
    from sqlalchemy import text

    from services.claims import idempotency

    engine = claims_app.state.database.engine
    # A batch the server refuses (a negative LIMIT), leaving its transaction aborted.
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        await idempotency.purge_expired(engine, keep_hours=48, batch=-1)
    # Seen from any session (the pool may hand back the very connection that purged).
    async with engine.connect() as conn:
        holders = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = :ns AND objid = :k AND objsubid = 2"
            ),
            {"ns": idempotency.PURGE_LOCK[0], "k": idempotency.PURGE_LOCK[1]},
        )
    assert holders == 0
