"""The access log: reads and changes by staff, institutions and pharmacies, queryable by admins."""

from __future__ import annotations

from tests.services.enrollment.helpers import BASE, new_person


async def log_of(client, auth, person_id: int) -> list[dict]:
    response = await client.get(
        f"{BASE}/access-log", params={"person_id": person_id}, headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_staff_and_site_access_is_logged_and_the_persons_own_app_is_not(enrollment, auth):
    station = auth("station", "1")
    person = await new_person(enrollment, station)
    pid = person["person_id"]
    await enrollment.get(f"{BASE}/persons/{pid}", headers=station)
    await enrollment.get(
        f"{BASE}/persons/{pid}/eligibility?date=2024-05-01",
        headers=auth("institution", "H37160200001"),
    )
    await enrollment.get(f"{BASE}/persons/{pid}", headers=auth("app", person_id=pid))
    await enrollment.get(
        f"{BASE}/persons/{pid}/eligibility?date=2024-05-01", headers=auth("app", person_id=pid)
    )
    lookup = await enrollment.get(
        f"{BASE}/persons", params={"id_number": person["id_number"]}, headers=station
    )
    assert [p["person_id"] for p in lookup.json()["items"]] == [pid]
    entries = await log_of(enrollment, auth, pid)
    actions = [(e["action"], e["client_kind"], e["client_bound"]) for e in entries]
    assert actions == [
        ("person.lookup", "station", "1"),
        ("eligibility.read", "institution", "H37160200001"),
        ("person.read", "station", "1"),
        ("person.create", "station", "1"),
    ]
    assert all(e["client_id"] and e["at"] for e in entries)
    assert person["id_number"] not in str(entries)


async def test_only_admins_read_the_log_and_it_pages(enrollment, auth):
    admin = auth("admin")
    pid = (await new_person(enrollment, admin))["person_id"]
    for _ in range(3):
        await enrollment.get(f"{BASE}/persons/{pid}", headers=admin)
    first = await enrollment.get(
        f"{BASE}/access-log", params={"person_id": pid, "limit": 2}, headers=admin
    )
    body = first.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    rest = await enrollment.get(
        f"{BASE}/access-log",
        params={"person_id": pid, "limit": 2, "cursor": body["next_cursor"]},
        headers=admin,
    )
    ids = [e["entry_id"] for e in body["items"] + rest.json()["items"]]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True)
    for kind, bound in (("station", "1"), ("institution", "H37160200001")):
        denied = await enrollment.get(f"{BASE}/access-log", headers=auth(kind, bound))
        assert denied.status_code == 403


async def test_app_token_cannot_read_or_change_another_persons_data(enrollment, auth):
    admin = auth("admin")
    mine = (await new_person(enrollment, admin))["person_id"]
    other = (await new_person(enrollment, admin))["person_id"]
    app = auth("app", person_id=mine)
    reads = [
        "",
        "/coverages",
        "/qualifications",
        "/offsite-filings",
        "/contributions",
        "/transfers",
    ]
    for suffix in reads:
        response = await enrollment.get(f"{BASE}/persons/{other}{suffix}", headers=app)
        assert response.status_code == 404, suffix
        assert (
            await enrollment.get(f"{BASE}/persons/{mine}{suffix}", headers=app)
        ).status_code == 200
    filing = {
        "kind": "long_term",
        "destination_region": "110105",
        "start_date": "2099-01-01",
        "end_date": "2099-12-31",
    }
    assert (
        await enrollment.post(f"{BASE}/persons/{other}/offsite-filings", json=filing, headers=app)
    ).status_code == 404
    staff_only = await enrollment.post(
        f"{BASE}/persons/{mine}/coverages",
        json={"scheme": "resident", "start_date": "2024-01-01"},
        headers=app,
    )
    assert staff_only.status_code == 403
    theirs = await enrollment.post(
        f"{BASE}/persons/{other}/offsite-filings", json=filing, headers=admin
    )
    cancel = await enrollment.post(
        f"{BASE}/persons/{other}/offsite-filings/{theirs.json()['filing_id']}/cancel",
        json={},
        headers=app,
    )
    assert cancel.status_code == 404
    via_mine = await enrollment.post(
        f"{BASE}/persons/{mine}/offsite-filings/{theirs.json()['filing_id']}/cancel",
        json={},
        headers=app,
    )
    assert via_mine.status_code == 404
