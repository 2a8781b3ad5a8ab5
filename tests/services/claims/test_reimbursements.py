"""Manual reimbursement: deadlines by the Chinese calendar, review, payment, overdue list."""

from __future__ import annotations

from tests.services.claims.conftest import HOSPITAL, item, key

STATION = {"kind": "station", "bound": "1"}


def claim(person_id: int, received_on: str | None = None, **fields) -> dict:
    body = {
        "person_id": person_id,
        "institution_code": HOSPITAL,
        "visit_type": "inpatient",
        "service_date": "2024-02-20",
        "items": [item("10500.00")],
        "receipts": [
            {"number": "R-1", "amount": "6000.00"},
            {"number": "R-2", "amount": "4500.00"},
        ],
    }
    if received_on:
        body["received_on"] = received_on
    body.update(fields)
    return body


async def test_submitted_before_national_day_has_the_right_deadline(claims, auth, fakes):
    person = fakes.person("employee")
    answer = await claims.post(
        "/claims/v1/reimbursements",
        json=claim(person, "2025-09-30", service_date="2025-09-01"),
        headers=auth(**STATION),
    )
    assert answer.status_code == 201, answer.text
    # 2025-09-30 Tue, then the National Day holiday 10-01..10-08. Working days:
    # 10-09 (1), 10-10 (2), Sat 10-11 make-up workday (3), 10-13..10-17 (4-8), 10-20 (9), 10-21 (10)
    assert (answer.json()["deadline"], answer.json()["deadline_provisional"]) == (
        "2025-10-21",
        False,
    )


async def test_unpublished_year_is_provisional_until_loaded(claims, auth, fakes):
    person = fakes.person("employee")
    guessed = await claims.post(
        "/claims/v1/reimbursements",
        json=claim(person, "2030-09-30", service_date="2030-09-01"),
        headers=auth("admin"),
    )
    # Mon 2030-09-30; Monday to Friday: 10-01..10-04 (1-4), 10-07..10-11 (5-9), 10-14 (10)
    assert (guessed.json()["deadline"], guessed.json()["deadline_provisional"]) == (
        "2030-10-14",
        True,
    )
    table = {
        "holidays": [f"2030-10-0{d}" for d in range(1, 8)],
        "workdays": ["2030-09-29", "2030-10-12"],
    }
    assert (
        await claims.post("/claims/v1/calendar/2030", json=table, headers=auth(**STATION))
    ).status_code == 403
    loaded = await claims.post("/claims/v1/calendar/2030", json=table, headers=auth("admin"))
    assert loaded.status_code == 200, loaded.text
    known = await claims.post(
        "/claims/v1/reimbursements",
        json=claim(person, "2030-09-30", service_date="2030-09-01"),
        headers=auth("admin"),
    )
    # holiday 10-01..10-07; 10-08..10-11 (1-4), Sat 10-12 make-up (5), 10-14..10-18 (6-10)
    assert (known.json()["deadline"], known.json()["deadline_provisional"]) == (
        "2030-10-18",
        False,
    )
    wrong_year = await claims.post("/claims/v1/calendar/2031", json=table, headers=auth("admin"))
    assert wrong_year.status_code == 422
    assert wrong_year.json()["errors"][0]["field"] == "body.holidays.0"


async def test_approve_pay_once_and_the_overdue_list(claims, auth, fakes):
    person = fakes.person("employee")
    submitted = await claims.post(
        "/claims/v1/reimbursements", json=claim(person, "2024-03-01"), headers=auth(**STATION)
    )
    rid = submitted.json()["id"]
    assert submitted.json()["deadline"] == "2024-03-15" and submitted.json()["overdue"] is True
    overdue = await claims.get(
        "/claims/v1/reimbursements",
        params={"overdue": "true", "person_id": person},
        headers=auth("admin"),
    )
    assert [r["id"] for r in overdue.json()["items"]] == [rid]

    approved = await claims.post(f"/claims/v1/reimbursements/{rid}/approve", headers=auth("admin"))
    assert approved.status_code == 200, approved.text
    decision = approved.json()["decision"]
    # employee, tier 2: (10,500 − 500) × 0.90 = 9,000
    assert (decision["basic_fund"], decision["personal_pay"]) == ("9000.00", "1500.00")
    assert approved.json()["status"] == "approved" and approved.json()["overdue"] is False
    acc = await claims.get(
        f"/claims/v1/persons/{person}/accumulators?year=2024", headers=auth("admin")
    )
    assert {p["pool"]: p["used"] for p in acc.json()["pools"]}["employee_basic"] == "9000.00"
    assert (
        await claims.post(f"/claims/v1/reimbursements/{rid}/approve", headers=auth("admin"))
    ).status_code == 409
    overdue = await claims.get(
        "/claims/v1/reimbursements",
        params={"overdue": "true", "person_id": person},
        headers=auth("admin"),
    )
    assert overdue.json()["items"] == []

    pay_key = key()
    paid = await claims.post(
        f"/claims/v1/reimbursements/{rid}/pay", headers=auth("admin") | pay_key
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    again = await claims.post(
        f"/claims/v1/reimbursements/{rid}/pay", headers=auth("admin") | pay_key
    )
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == paid.json()
    other_key = await claims.post(
        f"/claims/v1/reimbursements/{rid}/pay", headers=auth("admin") | key()
    )
    assert other_key.status_code == 409
    reject = await claims.post(
        f"/claims/v1/reimbursements/{rid}/reject", json={"reason": "x"}, headers=auth("admin")
    )
    assert reject.status_code == 409


async def test_reject_and_who_may_submit(claims, auth, fakes):
    person = fakes.person("resident")
    app = auth("app", person_id=person)
    mine = await claims.post(
        "/claims/v1/reimbursements", json=claim(person, service_date="2024-05-01"), headers=app
    )
    assert mine.status_code == 201, mine.text
    rejected = await claims.post(
        f"/claims/v1/reimbursements/{mine.json()['id']}/reject",
        json={"reason": "发票与费用清单不符"},
        headers=auth("admin"),
    )
    assert (rejected.json()["status"], rejected.json()["reason"]) == (
        "rejected",
        "发票与费用清单不符",
    )
    assert (
        await claims.post(
            f"/claims/v1/reimbursements/{mine.json()['id']}/reject",
            json={"reason": "x"},
            headers=app,
        )
    ).status_code == 403
    backdated = await claims.post(
        "/claims/v1/reimbursements", json=claim(person, "2024-06-01"), headers=app
    )
    assert backdated.status_code == 403
    someone_else = await claims.post(
        "/claims/v1/reimbursements", json=claim(person + 1), headers=app
    )
    assert someone_else.status_code == 404
    mismatch = await claims.post(
        "/claims/v1/reimbursements",
        json=claim(person, receipts=[{"number": "R-1", "amount": "1.00"}]),
        headers=auth(**STATION),
    )
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "body.receipts"
    listed = await claims.get("/claims/v1/reimbursements", headers=app)
    assert {r["person_id"] for r in listed.json()["items"]} == {person}
