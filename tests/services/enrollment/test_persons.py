"""Enrollment's first resource: persons (the issue on enrollment extends it)."""

import random
from datetime import date

from shared.validators import make_id_number


def fresh_id_number() -> str:
    return (
        make_id_number("371602", date(1960, 1, 1), random.randrange(1000))
        if False
        else make_id_number(
            "371602",
            date(1950 + random.randrange(60), 1 + random.randrange(12), 1 + random.randrange(28)),
            random.randrange(1000),
        )
    )


async def test_create_read_and_list_masked(enrollment, auth):
    id_number = fresh_id_number()
    created = await enrollment.post(
        "/enrollment/v1/persons",
        json={"id_number": id_number, "name": "张伟", "region_code": "371602001"},
        headers=auth("admin"),
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert (
        person["id_number"] == id_number
        and person["birth_date"] == f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    )
    read = await enrollment.get(
        f"/enrollment/v1/persons/{person['person_id']}", headers=auth("admin")
    )
    assert read.json()["name"] == "张伟"
    listed = await enrollment.get("/enrollment/v1/persons?limit=500", headers=auth("station", "1"))
    assert id_number not in listed.text
    assert f"{id_number[:6]}********{id_number[-4:]}" in listed.text


async def test_duplicate_is_409_and_bad_id_is_422_naming_the_field(enrollment, auth):
    id_number = fresh_id_number()
    body = {"id_number": id_number, "name": "李娜", "region_code": "371602001"}
    assert (
        await enrollment.post("/enrollment/v1/persons", json=body, headers=auth("admin"))
    ).status_code == 201
    again = await enrollment.post("/enrollment/v1/persons", json=body, headers=auth("admin"))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    bad = await enrollment.post(
        "/enrollment/v1/persons",
        json={**body, "id_number": id_number[:-1] + ("0" if id_number[-1] != "0" else "1")},
        headers=auth("admin"),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.id_number"


async def test_app_token_sees_only_its_own_person(enrollment, auth):
    ids = []
    for _ in range(2):
        r = await enrollment.post(
            "/enrollment/v1/persons",
            json={"id_number": fresh_id_number(), "name": "王芳", "region_code": "371602001"},
            headers=auth("admin"),
        )
        ids.append(r.json()["person_id"])
    mine = await enrollment.get(
        f"/enrollment/v1/persons/{ids[0]}", headers=auth("app", person_id=ids[0])
    )
    assert mine.status_code == 200
    other = await enrollment.get(
        f"/enrollment/v1/persons/{ids[1]}", headers=auth("app", person_id=ids[0])
    )
    assert other.status_code == 404
    assert (
        await enrollment.get("/enrollment/v1/persons", headers=auth("app", person_id=ids[0]))
    ).status_code == 403
    assert (await enrollment.get(f"/enrollment/v1/persons/{ids[0]}")).status_code == 401
