"""Fund-supervision checks (pure) and the audit endpoints."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.claims.domain.policy import VisitType
from services.claims.domain.supervision import Billed, FlagKind, check
from tests.services.claims.conftest import HOSPITAL, PHARMACY, item, key, visit

D = Decimal
DAY = date(2024, 6, 3)


def billed(sid, visit_type=VisitType.general_outpatient, day=DAY, discharge=None, **q):
    return Billed(sid, visit_type, day, discharge, {k: D(v) for k, v in q.items()})


def test_duplicate_items_same_day_only() -> None:
    new = billed(None, XA0001="1", XA0002="1")
    earlier = [billed(1, XA0002="1"), billed(2, day=date(2024, 6, 2), XA0001="1")]
    assert [f.kind for f in check(new, earlier, {})] == [FlagKind.duplicate_items]


def test_daily_limit_counts_the_whole_day() -> None:
    new = billed(None, XA0001="2")
    assert check(new, [billed(1, XC0001="1")], {"XA0001": D("3")}) == []
    flags = check(new, [billed(1, day=DAY, XA0001="2")], {"XA0001": D("3")})
    assert FlagKind.daily_limit in [f.kind for f in flags]


def test_inpatient_overlap() -> None:
    stay = billed(1, VisitType.inpatient, date(2024, 6, 1), date(2024, 6, 10), F="1")
    inside = billed(None, VisitType.inpatient, date(2024, 6, 5), date(2024, 6, 7), G="1")
    after = billed(None, VisitType.inpatient, date(2024, 6, 11), None, G="1")
    assert [f.kind for f in check(inside, [stay], {})] == [FlagKind.inpatient_overlap]
    assert check(after, [stay], {}) == []


async def test_flags_raised_as_settlements_arrive_and_cases(claims, auth, fakes):
    person = fakes.person("employee")
    pharmacy = auth("pharmacy", PHARMACY)
    limit = (await claims.get("/claims/v1/catalog/drugs/XA0001")).json()["daily_limit"]
    body = visit(
        person,
        item("7.07", quantity=limit),
        institution_code=PHARMACY,
        prescription_id="RX-1",
    )
    first = await claims.post("/claims/v1/settlements", json=body, headers=pharmacy | key())
    second = await claims.post("/claims/v1/settlements", json=body, headers=pharmacy | key())
    assert first.status_code == second.status_code == 201
    flags = (
        await claims.get(
            "/claims/v1/audit/flags", params={"person_id": person}, headers=auth("admin")
        )
    ).json()["items"]
    # the first is within the daily limit; the second repeats it and doubles the quantity
    assert sorted((f["settlement_id"], f["kind"]) for f in flags) == [
        (second.json()["settlement_id"], "daily_limit"),
        (second.json()["settlement_id"], "duplicate_items"),
    ]
    assert (
        await claims.get("/claims/v1/audit/flags", headers=auth("institution", HOSPITAL))
    ).status_code == 403

    case = await claims.post(
        "/claims/v1/audit/cases",
        json={
            "institution_code": PHARMACY,
            "flag_ids": [f["id"] for f in flags],
            "findings": "重复收费",
        },
        headers=auth("admin"),
    )
    assert case.status_code == 201, case.text
    closed = await claims.patch(
        f"/claims/v1/audit/cases/{case.json()['id']}",
        json={"fine": "5000.00", "recovered": "20.00", "status": "closed"},
        headers=auth("admin"),
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["fine"], closed.json()["recovered"], closed.json()["status"]) == (
        "5000.00",
        "20.00",
        "closed",
    )
    cases = (
        await claims.get(
            "/claims/v1/audit/cases",
            params={"institution_code": PHARMACY, "status": "closed"},
            headers=auth("admin"),
        )
    ).json()["items"]
    assert case.json()["id"] in [c["id"] for c in cases]
    reopened_flags = (
        await claims.get(
            "/claims/v1/audit/flags", params={"person_id": person}, headers=auth("admin")
        )
    ).json()["items"]
    assert {f["case_id"] for f in reopened_flags} == {case.json()["id"]}


async def test_inpatient_overlap_flag_through_the_api(claims, auth, fakes):
    person = fakes.person("employee")
    hospital = auth("institution", HOSPITAL)
    stay = visit(
        person,
        item("5000.00", code="F0001"),
        visit_type="inpatient",
        service_date="2024-07-01",
        discharge_date="2024-07-10",
    )
    await claims.post("/claims/v1/settlements", json=stay, headers=hospital | key())
    overlapping = {
        **stay,
        "service_date": "2024-07-05",
        "discharge_date": "2024-07-06",
        "items": [item("800.00", code="F0002")],
    }
    second = await claims.post("/claims/v1/settlements", json=overlapping, headers=hospital | key())
    assert second.status_code == 201, second.text
    flags = (
        await claims.get(
            "/claims/v1/audit/flags",
            params={"person_id": person, "kind": "inpatient_overlap"},
            headers=auth("admin"),
        )
    ).json()["items"]
    assert [f["settlement_id"] for f in flags] == [second.json()["settlement_id"]]
    bad = {**stay, "discharge_date": "2024-06-01"}
    refused = await claims.post("/claims/v1/settlements/preview", json=bad, headers=hospital)
    assert refused.status_code == 422


async def test_fund_totals_per_layer_and_month(claims, auth, fakes):
    person = fakes.person("employee")
    hospital = auth("institution", HOSPITAL)
    body = visit(person, item("10500.00"), visit_type="inpatient", service_date="2023-03-15")
    settled = await claims.post("/claims/v1/settlements", json=body, headers=hospital | key())
    assert settled.status_code == 201
    totals = (
        await claims.get(
            "/claims/v1/audit/fund-totals", params={"year": 2023}, headers=auth("admin")
        )
    ).json()
    march = next(t for t in totals if t["month"] == "2023-03")
    assert (march["basic_fund"], march["settlements"]) == ("9000.00", 1)


async def test_prescription_only_drug_at_a_pharmacy_needs_a_prescription(claims, auth, fakes):
    pharmacy = auth("pharmacy", PHARMACY)
    flagged, clean = fakes.person("employee"), fakes.person("employee")
    # XA0001 (阿司匹林肠溶片) is prescription-only in the demo catalog
    for person, extra in ((flagged, {}), (clean, {"prescription_id": "RX-20240603-1"})):
        body = visit(person, item("7.07", code="XA0001"), institution_code=PHARMACY, **extra)
        answer = await claims.post("/claims/v1/settlements", json=body, headers=pharmacy | key())
        assert answer.status_code == 201, answer.text
    kinds = {}
    for person in (flagged, clean):
        items = (
            await claims.get(
                "/claims/v1/audit/flags", params={"person_id": person}, headers=auth("admin")
            )
        ).json()["items"]
        kinds[person] = [f["kind"] for f in items]
    assert kinds == {flagged: ["prescription_missing"], clean: []}


async def test_recheck_flags_days_no_longer_covered_once(claims, auth, fakes):
    person = fakes.person("employee")
    settled = await claims.post(
        "/claims/v1/settlements",
        json=visit(person, item("50.00", code="F0009")),
        headers=auth("institution", HOSPITAL) | key(),
    )
    assert settled.status_code == 201
    still = await claims.post(
        f"/claims/v1/audit/persons/{person}/recheck?year=2024", headers=auth("admin")
    )
    assert (still.json()["days_checked"], still.json()["flags_raised"]) == (1, 0)
    # the employer removed the person retroactively
    fakes.enrollment.people[person] = {"eligible": False, "scheme": None}
    for raised in (1, 0):
        answer = await claims.post(
            f"/claims/v1/audit/persons/{person}/recheck?year=2024", headers=auth("admin")
        )
        assert answer.json()["flags_raised"] == raised
    flags = (
        await claims.get(
            "/claims/v1/audit/flags",
            params={"person_id": person, "kind": "not_covered"},
            headers=auth("admin"),
        )
    ).json()["items"]
    assert [f["settlement_id"] for f in flags] == [settled.json()["settlement_id"]]
