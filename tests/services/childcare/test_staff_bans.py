"""Staff, the yearly health check, and the lifetime ban list."""

from datetime import date, timedelta

from tests.services.childcare.helpers import (
    API,
    fresh_id_number,
    new_institution,
    operator,
    reviewer,
)


def staff_body(id_number: str, **overrides) -> dict:
    body = {
        "id_number": id_number,
        "name": "张丽",
        "role": "caregiver",
        "qualification": "保育员(四级)",
        "phone": "13812345678",
        "health_check_on": (date.today() - timedelta(days=30)).isoformat(),
        "training_hours": 40,
        "hired_on": "2025-09-01",
    }
    body.update(overrides)
    return body


async def hire(childcare, headers, institution_id: int, body: dict):
    return await childcare.post(
        f"{API}/institutions/{institution_id}/staff", json=body, headers=headers
    )


async def test_hire_list_masked_and_overdue_health_checks(childcare, auth):
    inst = await new_institution(childcare, auth)
    headers = operator(auth, inst["id"])
    current, overdue, never = fresh_id_number(), fresh_id_number(), fresh_id_number()
    assert (await hire(childcare, headers, inst["id"], staff_body(current))).status_code == 201
    old = (date.today() - timedelta(days=400)).isoformat()
    assert (
        await hire(
            childcare, headers, inst["id"], staff_body(overdue, role="cook", health_check_on=old)
        )
    ).status_code == 201
    made = await hire(
        childcare, headers, inst["id"], staff_body(never, role="director", health_check_on=None)
    )
    assert made.status_code == 201 and made.json()["health_check_overdue"] is True
    listed = await childcare.get(f"{API}/institutions/{inst['id']}/staff", headers=headers)
    assert len(listed.json()["items"]) == 3
    for id_number in (current, overdue, never):
        assert id_number not in listed.text
        assert f"{id_number[:6]}********{id_number[-4:]}" in listed.text
    assert "13812345678" not in listed.text
    due = await childcare.get(
        f"{API}/institutions/{inst['id']}/staff?health_check_overdue=true", headers=headers
    )
    assert {s["role"] for s in due.json()["items"]} == {"cook", "director"}
    assert all(s["health_check_overdue"] for s in due.json()["items"])
    # Recording a new check takes the person off the overdue list.
    cook = next(s for s in due.json()["items"] if s["role"] == "cook")
    await childcare.patch(
        f"{API}/institutions/{inst['id']}/staff/{cook['id']}",
        json={"health_check_on": date.today().isoformat()},
        headers=headers,
    )
    due = await childcare.get(
        f"{API}/institutions/{inst['id']}/staff?health_check_overdue=true", headers=headers
    )
    assert [s["role"] for s in due.json()["items"]] == ["director"]


async def test_bad_id_number_and_wrong_callers(childcare, auth):
    inst = await new_institution(childcare, auth)
    id_number = fresh_id_number()
    bad = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
    response = await hire(childcare, operator(auth, inst["id"]), inst["id"], staff_body(bad))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.id_number"
    other = await new_institution(childcare, auth)
    assert (
        await hire(childcare, operator(auth, other["id"]), inst["id"], staff_body(id_number))
    ).status_code == 404
    assert (
        await childcare.get(
            f"{API}/institutions/{inst['id']}/staff", headers=operator(auth, other["id"])
        )
    ).status_code == 404
    assert (
        await hire(childcare, reviewer(auth), inst["id"], staff_body(id_number))
    ).status_code == 403
    made = await hire(childcare, operator(auth, inst["id"]), inst["id"], staff_body(id_number))
    staff_id = made.json()["id"]
    assert (
        await childcare.get(
            f"{API}/institutions/{other['id']}/staff/{staff_id}",
            headers=operator(auth, other["id"]),
        )
    ).status_code == 404
    again = await hire(childcare, operator(auth, inst["id"]), inst["id"], staff_body(id_number))
    assert again.status_code == 409


async def test_banned_person_cannot_be_hired_anywhere(childcare, auth):
    id_number = fresh_id_number()
    ban = await childcare.post(
        f"{API}/bans",
        json={"id_number": id_number, "name": "某某", "reason": "虐待婴幼儿"},
        headers=auth("admin"),
    )
    assert ban.status_code == 201 and id_number not in ban.text
    assert (
        await childcare.post(
            f"{API}/bans",
            json={"id_number": id_number, "name": "某某", "reason": "again"},
            headers=auth("admin"),
        )
    ).status_code == 409
    for region in ("371602001", "371681002", "371623004"):
        inst = await new_institution(childcare, auth, region)
        response = await hire(
            childcare, operator(auth, inst["id"]), inst["id"], staff_body(id_number)
        )
        assert response.status_code == 409
        listed = await childcare.get(
            f"{API}/institutions/{inst['id']}/staff?current=false", headers=auth("admin")
        )
        assert listed.json()["items"] == []
    assert (
        await childcare.post(
            f"{API}/bans",
            json={"id_number": fresh_id_number(), "name": "x", "reason": "y"},
            headers=reviewer(auth),
        )
    ).status_code == 403


async def test_banning_someone_employed_flags_each_employer(childcare, auth):
    id_number = fresh_id_number()
    bincheng = await new_institution(childcare, auth, "371602001")
    zouping = await new_institution(childcare, auth, "371681001")
    bystander = await new_institution(childcare, auth, "371602002")
    staff_ids = {}
    for inst in (bincheng, zouping):
        made = await hire(childcare, operator(auth, inst["id"]), inst["id"], staff_body(id_number))
        staff_ids[inst["id"]] = made.json()["id"]
    await hire(
        childcare, operator(auth, bystander["id"]), bystander["id"], staff_body(fresh_id_number())
    )
    ban = await childcare.post(
        f"{API}/bans",
        json={"id_number": id_number, "name": "张丽", "reason": "虐待婴幼儿"},
        headers=auth("admin"),
    )
    assert ban.json()["flagged_institution_ids"] == sorted([bincheng["id"], zouping["id"]])
    flags = await childcare.get(f"{API}/ban-flags?open=true&limit=500", headers=auth("admin"))
    mine = [f for f in flags.json()["items"] if f["ban_id"] == ban.json()["id"]]
    assert {f["institution_id"] for f in mine} == {bincheng["id"], zouping["id"]}
    assert id_number not in flags.text
    # A county reviewer sees its county's flag only.
    regional = await childcare.get(f"{API}/ban-flags?limit=500", headers=reviewer(auth, "371602"))
    theirs = [f for f in regional.json()["items"] if f["ban_id"] == ban.json()["id"]]
    assert [f["institution_id"] for f in theirs] == [bincheng["id"]]
    assert (
        await childcare.get(f"{API}/ban-flags", headers=operator(auth, bincheng["id"]))
    ).status_code == 403
    # When the person leaves, the flag is resolved.
    await childcare.patch(
        f"{API}/institutions/{bincheng['id']}/staff/{staff_ids[bincheng['id']]}",
        json={"left_on": date.today().isoformat()},
        headers=operator(auth, bincheng["id"]),
    )
    still_open = await childcare.get(f"{API}/ban-flags?open=true&limit=500", headers=auth("admin"))
    assert {
        f["institution_id"] for f in still_open.json()["items"] if f["ban_id"] == ban.json()["id"]
    } == {zouping["id"]}


async def test_reviewer_sees_staff_of_its_county_only(childcare, auth):
    inst = await new_institution(childcare, auth, "371603002")
    id_number = fresh_id_number()
    await hire(childcare, operator(auth, inst["id"]), inst["id"], staff_body(id_number))
    own = await childcare.get(
        f"{API}/institutions/{inst['id']}/staff", headers=reviewer(auth, "371603")
    )
    assert own.status_code == 200 and len(own.json()["items"]) == 1
    assert id_number not in own.text
    assert (
        await childcare.get(
            f"{API}/institutions/{inst['id']}/staff", headers=reviewer(auth, "371602")
        )
    ).status_code == 404
