"""Inspections, the double-random draw, credit ratings and red/black lists."""

import random
from datetime import date, timedelta

from tests.services.childcare.helpers import (
    API,
    approved_institution,
    new_institution,
    operator,
    reviewer,
)


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


async def inspect(childcare, headers, institution_id: int, **body):
    return await childcare.post(
        f"{API}/institutions/{institution_id}/inspections", json=body, headers=headers
    )


async def test_three_levels_findings_deadline_and_reinspection(childcare, auth):
    inst = await approved_institution(childcare, auth)
    iid = inst["id"]
    rev = reviewer(auth)
    critical = [{"item": "消防", "description": "安全出口堵塞", "severity": "critical"}]
    no_deadline = await inspect(
        childcare,
        rev,
        iid,
        level="county",
        inspected_on=days_ago(30),
        result="fail",
        findings=critical,
    )
    assert no_deadline.status_code == 422
    assert no_deadline.json()["errors"][0]["field"] == "body.rectification_deadline"
    as_pass = await inspect(
        childcare,
        rev,
        iid,
        level="county",
        inspected_on=days_ago(30),
        result="pass",
        findings=critical,
        rectification_deadline=days_ago(10),
    )
    assert as_pass.status_code == 422 and as_pass.json()["errors"][0]["field"] == "body.result"
    first = await inspect(
        childcare,
        rev,
        iid,
        level="county",
        inspected_on=days_ago(30),
        result="fail",
        findings=critical,
        rectification_deadline=days_ago(10),
    )
    assert first.status_code == 201 and first.json()["max_severity"] == "critical"
    # City level is the city's (admin); a township check is any reviewer's of the region.
    city = await inspect(childcare, rev, iid, level="city", inspected_on=days_ago(5), result="pass")
    assert city.status_code == 403
    assert (
        await inspect(
            childcare,
            operator(auth, iid),
            iid,
            level="county",
            inspected_on=days_ago(5),
            result="pass",
        )
    ).status_code == 403
    assert (
        await inspect(
            childcare,
            reviewer(auth, "371681"),
            iid,
            level="county",
            inspected_on=days_ago(5),
            result="pass",
        )
    ).status_code == 404

    ratings = await childcare.get(f"{API}/credit/ratings", headers=rev)
    mine = next(r for r in ratings.json()["items"] if r["institution_id"] == iid)
    assert mine["rating"] == "D" and mine["black_list"] is True and mine["score"] == 35
    black = await childcare.get(f"{API}/public/credit/black-list?region_code=371602")
    assert iid in [r["institution_id"] for r in black.json()["items"]]

    recheck = await inspect(
        childcare,
        rev,
        iid,
        level="township",
        inspected_on=days_ago(2),
        result="pass",
        reinspection_of=first.json()["id"],
    )
    assert recheck.status_code == 201
    again = await inspect(
        childcare,
        rev,
        iid,
        level="township",
        inspected_on=days_ago(1),
        result="pass",
        reinspection_of=first.json()["id"],
    )
    assert again.status_code == 409
    listed = await childcare.get(
        f"{API}/institutions/{iid}/inspections", headers=operator(auth, iid)
    )
    by_id = {i["id"]: i for i in listed.json()["items"]}
    assert by_id[first.json()["id"]]["rectified_on"] == days_ago(2)
    assert listed.json()["items"][0]["id"] == recheck.json()["id"]
    city = await inspect(
        childcare, auth("admin"), iid, level="city", inspected_on=days_ago(1), result="pass"
    )
    assert city.status_code == 201
    ratings = await childcare.get(f"{API}/credit/ratings", headers=rev)
    mine = next(r for r in ratings.json()["items"] if r["institution_id"] == iid)
    # Rectified (late): the overdue penalty goes, the failed critical inspection stays.
    assert mine["score"] == 50 and mine["inspections"] == 3
    assert (
        await childcare.get(f"{API}/credit/ratings?region_code=371681", headers=rev)
    ).status_code == 403


async def test_clean_record_is_on_the_red_list(childcare, auth):
    inst = await approved_institution(childcare, auth, "371625001")
    rev = reviewer(auth, "371625")
    await inspect(
        childcare, rev, inst["id"], level="county", inspected_on=days_ago(3), result="pass"
    )
    red = await childcare.get(f"{API}/public/credit/red-list?region_code=371625")
    assert inst["id"] in [r["institution_id"] for r in red.json()["items"]]
    assert (await childcare.get(f"{API}/public/credit/grey-list")).status_code == 404


async def test_double_random_draw_is_reproducible_and_published(childcare, auth):
    county, township = "371622", "371622004"
    for _ in range(4):
        await approved_institution(childcare, auth, township)
    await new_institution(childcare, auth, township)  # unfiled: never drawn
    suffix = random.randrange(10**6)
    for k in range(3):
        made = await childcare.post(
            f"{API}/inspectors",
            json={"code": f"T-{suffix}-{k}", "name": f"检查员{k}", "region_code": county},
            headers=auth("admin"),
        )
        assert made.status_code == 201
    rev = reviewer(auth, county)
    seed = random.randrange(2**62)
    body = {"region_code": township, "institution_count": 2, "inspector_count": 2, "seed": seed}
    first = await childcare.post(f"{API}/draws", json=body, headers=rev)
    assert first.status_code == 201, first.text
    second = await childcare.post(f"{API}/draws", json=body, headers=rev)
    assert first.json()["seed"] == second.json()["seed"] == seed
    assert first.json()["institution_ids"] == second.json()["institution_ids"]
    assert first.json()["inspector_ids"] == second.json()["inspector_ids"]
    assert len(first.json()["institution_ids"]) == 2
    check = await childcare.get(f"{API}/draws/{first.json()['id']}/check", headers=rev)
    assert check.json()["reproduced"] is True
    assert check.json()["institution_ids"] == first.json()["institution_ids"]
    # Without a seed the service picks one and records it.
    unseeded = await childcare.post(f"{API}/draws", json={**body, "seed": None}, headers=rev)
    replay = await childcare.post(
        f"{API}/draws", json={**body, "seed": unseeded.json()["seed"]}, headers=rev
    )
    assert replay.json()["institution_ids"] == unseeded.json()["institution_ids"]
    # Another county's reviewer can neither draw here nor see the draw.
    other = reviewer(auth, "371602")
    assert (await childcare.post(f"{API}/draws", json=body, headers=other)).status_code == 403
    assert (
        await childcare.get(f"{API}/draws/{first.json()['id']}", headers=other)
    ).status_code == 404
    # Published draws are public; unpublished ones are not.
    public = await childcare.get(f"{API}/public/draws?region_code={township}&limit=500")
    assert first.json()["id"] not in [d["id"] for d in public.json()["items"]]
    published = await childcare.post(f"{API}/draws/{first.json()['id']}/publish", headers=rev)
    assert published.status_code == 200 and published.json()["published_at"]
    assert (
        await childcare.post(f"{API}/draws/{first.json()['id']}/publish", headers=rev)
    ).status_code == 409
    public = await childcare.get(f"{API}/public/draws?region_code={township}&limit=500")
    shown = next(d for d in public.json()["items"] if d["id"] == first.json()["id"])
    assert [i["id"] for i in shown["institutions"]] == first.json()["institution_ids"]
    assert shown["seed"] == seed
    # An inspection can be tied to the draw that picked it, and only to that.
    picked = first.json()["institution_ids"][0]
    tied = await inspect(
        childcare,
        rev,
        picked,
        level="county",
        inspected_on=days_ago(0),
        result="pass",
        draw_id=first.json()["id"],
    )
    assert tied.status_code == 201 and tied.json()["draw_id"] == first.json()["id"]


async def test_draw_needs_candidates(childcare, auth):
    response = await childcare.post(
        f"{API}/draws",
        json={"region_code": "371623012", "institution_count": 1, "inspector_count": 1},
        headers=auth("admin"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.region_code"
