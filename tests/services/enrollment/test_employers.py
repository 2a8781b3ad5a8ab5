"""Employers and batch staff changes (人员增减): all rows or none."""

from __future__ import annotations

from tests.services.enrollment.helpers import BASE, fresh_id_number, new_employer, new_person


async def test_invalid_credit_code_is_422_naming_the_field_and_duplicate_409(enrollment, auth):
    admin = auth("admin")
    bad = await enrollment.post(
        f"{BASE}/employers",
        json={"uscc": "91350100M000100Y44", "name": "x", "region_code": "371602"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.uscc"
    uscc = await new_employer(enrollment, admin)
    again = await enrollment.post(
        f"{BASE}/employers",
        json={"uscc": uscc, "name": "again", "region_code": "371602"},
        headers=admin,
    )
    assert again.status_code == 409
    read = await enrollment.get(f"{BASE}/employers/{uscc}", headers=admin)
    assert read.status_code == 200 and read.json()["name"] == "测试单位"
    bad_path = await enrollment.get(f"{BASE}/employers/91350100M000100Y44", headers=admin)
    assert bad_path.status_code == 422
    assert bad_path.json()["errors"][0]["field"] == "path.uscc"
    assert (
        await enrollment.post(
            f"{BASE}/employers",
            json={"uscc": uscc, "name": "x", "region_code": "371602"},
            headers=auth("pharmacy", "P37160200007"),
        )
    ).status_code == 403


async def coverages(client, headers, person_id):
    return (await client.get(f"{BASE}/persons/{person_id}/coverages", headers=headers)).json()


async def test_a_batch_with_one_bad_row_changes_nothing_and_names_the_row(enrollment, auth):
    admin = auth("station", "1")
    uscc = await new_employer(enrollment, admin)
    people = [await new_person(enrollment, admin) for _ in range(3)]
    url = f"{BASE}/employers/{uscc}/staff-changes"
    rows = [
        {"action": "add", "id_number": people[0]["id_number"], "date": "2024-07-01"},
        {"action": "add", "id_number": people[1]["id_number"], "date": "2024-07-01"},
        {"action": "add", "id_number": fresh_id_number(), "date": "2024-07-01"},  # unknown
        {"action": "add", "id_number": people[2]["id_number"], "date": "2024-07-01"},
    ]
    refused = await enrollment.post(url, json={"changes": rows}, headers=admin)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == ["body.changes.2.id_number"]
    for person in people:
        assert await coverages(enrollment, admin, person["person_id"]) == []

    bad_checksum = [*rows[:2], {**rows[2], "id_number": people[2]["id_number"][:-1] + "Y"}]
    malformed = await enrollment.post(url, json={"changes": bad_checksum}, headers=admin)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "body.changes.2.id_number"

    good = [rows[0], rows[1], rows[3]]
    applied = await enrollment.post(url, json={"changes": good}, headers=admin)
    assert applied.status_code == 200, applied.text
    assert applied.json() == {"uscc": uscc, "added": 3, "removed": 0}
    first = await coverages(enrollment, admin, people[0]["person_id"])
    assert first[0]["employer_uscc"] == uscc and first[0]["end_date"] is None

    # Removing one and re-adding another already employed: the second row is wrong, so the
    # first removal does not happen either.
    mixed = [
        {"action": "remove", "id_number": people[0]["id_number"], "date": "2024-12-31"},
        {"action": "add", "id_number": people[1]["id_number"], "date": "2025-01-01"},
        {"action": "remove", "id_number": people[0]["id_number"], "date": "2024-12-31"},
    ]
    refused = await enrollment.post(url, json={"changes": mixed}, headers=admin)
    assert refused.status_code == 422
    fields = [e["field"] for e in refused.json()["errors"]]
    assert fields == ["body.changes.1.date", "body.changes.2.id_number"]
    assert (await coverages(enrollment, admin, people[0]["person_id"]))[0]["end_date"] is None

    removed = await enrollment.post(url, json={"changes": mixed[:1]}, headers=admin)
    assert removed.json()["removed"] == 1
    assert (await coverages(enrollment, admin, people[0]["person_id"]))[0][
        "end_date"
    ] == "2024-12-31"
    eligible = await enrollment.get(
        f"{BASE}/persons/{people[0]['person_id']}/eligibility?date=2025-01-01", headers=admin
    )
    assert eligible.json()["eligible"] is False


async def test_staff_changes_for_an_unknown_employer_are_404(enrollment, auth):
    response = await enrollment.post(
        f"{BASE}/employers/91350100M000100Y43/staff-changes",
        json={"changes": [{"action": "add", "id_number": fresh_id_number(), "date": "2024-01-01"}]},
        headers=auth("admin"),
    )
    assert response.status_code == 404
