"""POST /enrollment/v1/eligibility/batch: many eligibility questions, each answered as alone."""

from __future__ import annotations

from tests.services.enrollment.helpers import BASE, new_person

BATCH = f"{BASE}/eligibility/batch"


async def _covered(enrollment, staff) -> int:
    pid = (await new_person(enrollment, staff))["person_id"]
    response = await enrollment.post(
        f"{BASE}/persons/{pid}/coverages",
        json={"scheme": "resident", "start_date": "2024-01-01", "end_date": "2024-12-31"},
        headers=staff,
    )
    assert response.status_code == 201, response.text
    return int(pid)


async def test_answers_in_the_order_asked_each_as_the_single_read(enrollment, auth):
    staff = auth("station", "1")
    covered = await _covered(enrollment, staff)
    other = await _covered(enrollment, staff)
    institution = auth("institution", "H37160200001")
    asked = [(covered, "2024-06-01"), (2**62, "2024-06-01"), (other, "2025-01-01")]
    response = await enrollment.post(
        BATCH,
        json={"items": [{"person_id": p, "date": d} for p, d in asked]},
        headers=institution,
    )
    assert response.status_code == 200, response.text
    answers = response.json()["items"]
    assert [a["status"] for a in answers] == [200, 404, 200]
    assert answers[1]["eligibility"] is None
    for (pid, day), answer in zip(asked[::2], answers[::2], strict=True):
        single = await enrollment.get(
            f"{BASE}/persons/{pid}/eligibility?date={day}", headers=institution
        )
        assert answer["eligibility"] == single.json()
    assert answers[0]["eligibility"]["eligible"] is True
    assert answers[2]["eligibility"]["eligible"] is False  # the day after the period ended


async def test_each_audited_read_is_logged_with_its_own_request_id(enrollment, auth):
    staff = auth("station", "1")
    pid = await _covered(enrollment, staff)
    response = await enrollment.post(
        BATCH,
        json={
            "items": [
                {"person_id": pid, "date": "2024-03-01", "request_id": "settle-a"},
                {"person_id": pid, "date": "2024-04-01"},
                {"person_id": 2**62, "date": "2024-04-01", "request_id": "settle-c"},
            ]
        },
        headers={**auth("institution", "H37160200001"), "X-Request-ID": "batch-1"},
    )
    assert response.status_code == 200, response.text
    log = await enrollment.get(
        f"{BASE}/access-log", params={"person_id": pid}, headers=auth("admin")
    )
    reads = [e for e in log.json()["items"] if e["action"] == "eligibility.read"]
    # No entry for the person that does not exist; the second read carries the call's own ID.
    assert sorted(e["request_id"] for e in reads) == ["batch-1", "settle-a"]
    assert {e["client_kind"] for e in reads} == {"institution"}


async def test_an_app_token_sees_only_its_own_person(enrollment, auth):
    staff = auth("station", "1")
    mine = await _covered(enrollment, staff)
    other = await _covered(enrollment, staff)
    response = await enrollment.post(
        BATCH,
        json={
            "items": [
                {"person_id": other, "date": "2024-06-01"},
                {"person_id": mine, "date": "2024-06-01"},
            ]
        },
        headers=auth("app", person_id=mine),
    )
    assert response.status_code == 200, response.text
    assert [a["status"] for a in response.json()["items"]] == [404, 200]


async def test_bad_batches_are_422_naming_the_field_and_anonymous_calls_401(enrollment, auth):
    institution = auth("institution", "H37160200001")
    cases = [
        ({"items": []}, "items"),
        ({"items": [{"person_id": 1, "date": "2024-06-01"}] * 101}, "items"),
        ({"items": [{"person_id": 0, "date": "2024-06-01"}]}, "person_id"),
        ({"items": [{"person_id": 1, "date": "2024-13-01"}]}, "date"),
        ({"items": [{"person_id": 1, "date": "2024-06-01", "request_id": "a b"}]}, "request_id"),
    ]
    for body, field in cases:
        response = await enrollment.post(BATCH, json=body, headers=institution)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert any(field in e["field"] for e in response.json()["errors"]), response.text
    anonymous = await enrollment.post(
        BATCH, json={"items": [{"person_id": 1, "date": "2024-06-01"}]}
    )
    assert anonymous.status_code == 401
