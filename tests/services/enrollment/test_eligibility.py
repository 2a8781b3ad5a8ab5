"""Coverage periods, qualifications, off-site filings and the eligibility read at their edges."""

from __future__ import annotations

from datetime import date, timedelta

from tests.services.enrollment.helpers import BASE, new_employer, new_person

D = date(2024, 1, 1)


def day(n: int) -> str:
    return (D + timedelta(days=n)).isoformat()


async def eligibility(client, headers, person_id: int, on: str) -> dict:
    response = await client.get(
        f"{BASE}/persons/{person_id}/eligibility", params={"date": on}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_eligibility_at_the_edges_of_periods_and_gaps(enrollment, auth):
    admin = auth("admin")
    person = (await new_person(enrollment, admin))["person_id"]
    uscc = await new_employer(enrollment, admin)
    first = await enrollment.post(
        f"{BASE}/persons/{person}/coverages",
        json={"scheme": "resident", "start_date": day(0), "end_date": day(99)},
        headers=admin,
    )
    assert first.status_code == 201, first.text
    second = await enrollment.post(
        f"{BASE}/persons/{person}/coverages",
        json={
            "scheme": "employee",
            "start_date": day(110),
            "employer_uscc": uscc,
            "retired": False,
        },
        headers=admin,
    )
    assert second.status_code == 201, second.text

    expected = {
        -1: (False, None),
        0: (True, "resident"),
        99: (True, "resident"),
        100: (False, None),
        109: (False, None),
        110: (True, "employee"),
        5000: (True, "employee"),
    }
    for n, (eligible, scheme) in expected.items():
        answer = await eligibility(enrollment, admin, person, day(n))
        assert (answer["eligible"], answer["scheme"]) == (eligible, scheme), n
    answer = await eligibility(enrollment, admin, person, day(0))
    assert set(answer) == {
        "person_id",
        "date",
        "eligible",
        "scheme",
        "retired",
        "poverty",
        "qualifications",
        "offsite_filings",
    }
    assert answer["person_id"] == person and answer["date"] == day(0)
    assert answer["retired"] is False and answer["poverty"] is False


async def test_overlapping_periods_are_409_and_touching_ones_are_fine(enrollment, auth):
    admin = auth("station", "1")
    person = (await new_person(enrollment, admin))["person_id"]
    url = f"{BASE}/persons/{person}/coverages"
    ok = await enrollment.post(
        url, json={"scheme": "resident", "start_date": day(10), "end_date": day(20)}, headers=admin
    )
    assert ok.status_code == 201
    for start, end in ((day(20), day(30)), (day(0), day(10)), (day(12), day(13)), (day(0), None)):
        clash = await enrollment.post(
            url, json={"scheme": "resident", "start_date": start, "end_date": end}, headers=admin
        )
        assert clash.status_code == 409, (start, end, clash.text)
    touching = await enrollment.post(
        url, json={"scheme": "resident", "start_date": day(21)}, headers=admin
    )
    assert touching.status_code == 201
    # Moving the first period's end into the open one is refused too.
    moved = await enrollment.patch(
        f"{url}/{ok.json()['coverage_id']}", json={"end_date": day(25)}, headers=admin
    )
    assert moved.status_code == 409
    listed = await enrollment.get(url, headers=admin)
    assert [c["start_date"] for c in listed.json()] == [day(10), day(21)]


async def test_coverage_rules_are_422_naming_the_field(enrollment, auth):
    admin = auth("admin")
    person = (await new_person(enrollment, admin))["person_id"]
    url = f"{BASE}/persons/{person}/coverages"
    cases = [
        ({"scheme": "employee", "start_date": day(0)}, "body.employer_uscc"),
        (
            {"scheme": "employee", "start_date": day(0), "employer_uscc": "91350100M000100Y44"},
            "body.employer_uscc",
        ),
        (
            {"scheme": "resident", "start_date": day(0), "employer_uscc": "91350100M000100Y43"},
            "body.employer_uscc",
        ),
        ({"scheme": "resident", "start_date": day(5), "end_date": day(4)}, "body.end_date"),
        ({"scheme": "retired", "start_date": day(0)}, "body.scheme"),
    ]
    for body, field in cases:
        response = await enrollment.post(url, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    retired = await enrollment.post(
        url, json={"scheme": "employee", "start_date": day(0), "retired": True}, headers=admin
    )
    assert retired.status_code == 201
    answer = await eligibility(enrollment, admin, person, day(0))
    assert answer["retired"] is True and answer["scheme"] == "employee"


async def test_qualifications_and_filings_at_their_edges_and_after_cancel(enrollment, auth):
    admin = auth("admin")
    person = (await new_person(enrollment, admin, poverty=True))["person_id"]
    await enrollment.post(
        f"{BASE}/persons/{person}/coverages",
        json={"scheme": "resident", "start_date": day(0)},
        headers=admin,
    )
    q = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications",
        json={
            "kind": "two_disease",
            "disease_code": "hypertension",
            "start_date": day(10),
            "end_date": day(20),
        },
        headers=admin,
    )
    assert q.status_code == 201, q.text
    chronic = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications",
        json={"kind": "chronic", "disease_code": "N18", "start_date": day(20)},
        headers=admin,
    )
    assert chronic.status_code == 201
    f = await enrollment.post(
        f"{BASE}/persons/{person}/offsite-filings",
        json={
            "kind": "referral",
            "destination_region": "110105",
            "start_date": day(15),
            "end_date": day(15),
        },
        headers=admin,
    )
    assert f.status_code == 201, f.text

    def codes(answer: dict) -> list[str]:
        return [x["disease_code"] for x in answer["qualifications"]]

    assert codes(await eligibility(enrollment, admin, person, day(9))) == []
    assert codes(await eligibility(enrollment, admin, person, day(10))) == ["hypertension"]
    on_20 = await eligibility(enrollment, admin, person, day(20))
    assert codes(on_20) == ["hypertension", "N18"]
    assert on_20["poverty"] is True
    assert codes(await eligibility(enrollment, admin, person, day(21))) == ["N18"]
    for n, count in ((14, 0), (15, 1), (16, 0)):
        answer = await eligibility(enrollment, admin, person, day(n))
        assert len(answer["offsite_filings"]) == count, n
    on_15 = await eligibility(enrollment, admin, person, day(15))
    assert on_15["offsite_filings"][0]["destination_region"] == "110105"
    assert on_15["offsite_filings"][0]["kind"] == "referral"

    cancel = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications/{q.json()['qualification_id']}/cancel",
        json={"reason": "wrong diagnosis"},
        headers=admin,
    )
    assert cancel.status_code == 200 and cancel.json()["cancelled_at"]
    again = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications/{q.json()['qualification_id']}/cancel",
        json={},
        headers=admin,
    )
    assert again.status_code == 409
    assert codes(await eligibility(enrollment, admin, person, day(15))) == []
    cancel_filing = await enrollment.post(
        f"{BASE}/persons/{person}/offsite-filings/{f.json()['filing_id']}/cancel",
        json={},
        headers=admin,
    )
    assert cancel_filing.status_code == 200
    assert (await eligibility(enrollment, admin, person, day(15)))["offsite_filings"] == []


async def test_qualification_and_filing_rules(enrollment, auth):
    admin = auth("admin")
    person = (await new_person(enrollment, admin))["person_id"]
    bad_two = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications",
        json={"kind": "two_disease", "disease_code": "asthma", "start_date": day(0)},
        headers=admin,
    )
    assert bad_two.status_code == 422
    assert bad_two.json()["errors"][0]["field"] == "body.disease_code"
    body = {"kind": "two_disease", "disease_code": "diabetes", "start_date": day(0)}
    first = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications", json=body, headers=admin
    )
    assert first.status_code == 201
    dup = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications",
        json={**body, "start_date": day(50)},
        headers=admin,
    )
    assert dup.status_code == 409
    in_city = await enrollment.post(
        f"{BASE}/persons/{person}/offsite-filings",
        json={
            "kind": "long_term",
            "destination_region": "371603",
            "start_date": day(0),
            "end_date": day(300),
        },
        headers=admin,
    )
    assert in_city.status_code == 422
    assert in_city.json()["errors"][0]["field"] == "body.destination_region"
    # The person's own app may file, but only an emergency after the fact.
    app = auth("app", person_id=person)
    past = await enrollment.post(
        f"{BASE}/persons/{person}/offsite-filings",
        json={
            "kind": "referral",
            "destination_region": "370102",
            "start_date": "2020-01-01",
            "end_date": "2020-02-01",
        },
        headers=app,
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "body.start_date"
    emergency = await enrollment.post(
        f"{BASE}/persons/{person}/offsite-filings",
        json={
            "kind": "emergency",
            "destination_region": "370102",
            "start_date": "2020-01-01",
            "end_date": "2020-01-03",
        },
        headers=app,
    )
    assert emergency.status_code == 201
    # The app cannot approve itself a qualification.
    self_approved = await enrollment.post(
        f"{BASE}/persons/{person}/qualifications", json=body, headers=app
    )
    assert self_approved.status_code == 403


async def test_who_may_read_eligibility(enrollment, auth):
    admin = auth("admin")
    mine = (await new_person(enrollment, admin))["person_id"]
    other = (await new_person(enrollment, admin))["person_id"]
    url = f"{BASE}/persons/{{}}/eligibility?date=2024-01-01"
    for headers in (
        auth("institution", "H37160200001"),
        auth("pharmacy", "P37160200007"),
        auth("station", "1"),
        auth("app", person_id=mine),
    ):
        assert (await enrollment.get(url.format(mine), headers=headers)).status_code == 200
    assert (
        await enrollment.get(url.format(other), headers=auth("app", person_id=mine))
    ).status_code == 404
    assert (
        await enrollment.get(url.format(mine), headers=auth("childcare_operator", "1"))
    ).status_code == 403
    assert (await enrollment.get(url.format(mine))).status_code == 401
    assert (await enrollment.get(url.format(10**12), headers=admin)).status_code == 404
    bad_date = await enrollment.get(
        f"{BASE}/persons/{mine}/eligibility?date=2024-02-30", headers=admin
    )
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["field"] == "query.date"


async def test_ids_beyond_bigint_are_422_not_500(enrollment, auth):
    huge = 2**63
    for path in (f"/persons/{huge}", f"/persons/{huge}/eligibility", "/persons/0/coverages"):
        response = await enrollment.get(f"{BASE}{path}", headers=auth("admin"))
        assert response.status_code == 422, path
        assert response.json()["errors"][0]["field"] == "path.person_id"


async def test_the_fast_lane_answers_as_the_router_does(enrollment, auth, settings_for):
    """The served app takes eligibility reads past the router (shared.fastlane); the same app
    without the lane must give the same answers, the access log's entries included."""
    from services.enrollment.app import create_app
    from shared.fastlane import FastLane
    from tests.conftest import running

    admin = auth("admin")
    mine = (await new_person(enrollment, admin))["person_id"]
    other = (await new_person(enrollment, admin))["person_id"]
    covered = await enrollment.post(
        f"{BASE}/persons/{mine}/coverages",
        json={"scheme": "resident", "start_date": "2024-01-01"},
        headers=admin,
    )
    assert covered.status_code == 201, covered.text
    institution = auth("institution", "H37160200001")
    cases = [
        (f"/persons/{mine}/eligibility?date=2024-06-01", institution),
        (f"/persons/{mine}/eligibility?date=2023-12-31", institution),
        (f"/persons/{mine}/eligibility", auth("app", person_id=mine)),
        (f"/persons/{other}/eligibility", auth("app", person_id=mine)),
        (f"/persons/{mine}/eligibility", auth("childcare_operator", "1")),
        (f"/persons/{mine}/eligibility", {}),
        (f"/persons/{mine}/eligibility", {"Authorization": "Basic abc"}),
        (f"/persons/{10**12}/eligibility", admin),
        (f"/persons/{2**63}/eligibility", admin),
        ("/persons/x1/eligibility", admin),
        (f"/persons/{mine}/eligibility?date=2024-02-30", admin),
        (f"/persons/{mine}/eligibility?date=20240601", admin),
    ]
    routed_app = create_app(settings_for("enrollment"))
    assert any(m.cls is FastLane for m in routed_app.user_middleware)
    routed_app.user_middleware = [m for m in routed_app.user_middleware if m.cls is not FastLane]

    async def log_of(person_id: int) -> list[tuple[str, str]]:
        page = await enrollment.get(
            f"{BASE}/access-log", params={"person_id": person_id, "limit": 100}, headers=admin
        )
        return [(e["client_id"], e["action"]) for e in page.json()["items"]]

    async with running(routed_app) as routed:
        for path, headers in cases:
            before = await log_of(mine)
            by_router = await routed.get(f"{BASE}{path}", headers=headers)
            after_router = await log_of(mine)
            by_lane = await enrollment.get(f"{BASE}{path}", headers=headers)
            after_lane = await log_of(mine)
            assert by_lane.status_code == by_router.status_code, path
            for header in ("content-type", "www-authenticate"):
                assert by_lane.headers.get(header) == by_router.headers.get(header), path
            lane_body, router_body = by_lane.json(), by_router.json()
            for body in (lane_body, router_body):
                body.pop("request_id", None)
            assert lane_body == router_body, path
            logged_by_router = after_router[: len(after_router) - len(before)]
            assert after_lane[: len(after_lane) - len(after_router)] == logged_by_router, path
    assert len(after_lane) > 0  # the institution's reads were logged
