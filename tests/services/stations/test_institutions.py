"""Designated institutions: tier, off-site and designation, as the claims service reads them."""

from __future__ import annotations

import random

INSTITUTIONS = "/stations/v1/institutions"


def fresh_code(prefix: str = "H", county: str = "371602") -> str:
    return f"{prefix}{county}{random.randrange(10_000, 99_999):05d}"


async def _create(stations, auth, **fields):
    body = {"name": "测试医院", "kind": "hospital", "tier": 2, "region_code": "371602",
            "lat": 37.4, "lon": 118.0, **fields}  # fmt: skip
    return await stations.post(INSTITUTIONS, json=body, headers=auth("admin"))


async def test_create_and_read_in_city_and_offsite(stations, auth):
    code = fresh_code()
    created = await _create(stations, auth, code=code, tier=3)
    assert created.status_code == 201, created.text
    read = await stations.get(f"{INSTITUTIONS}/{code}")  # public: no token
    assert read.status_code == 200
    body = read.json()
    assert (body["tier"], body["offsite"], body["designated"], body["kind"]) == (
        3, False, True, "hospital",
    )  # fmt: skip

    jinan = fresh_code(county="370102")
    r = await _create(stations, auth, code=jinan, region_code="370102", lat=36.66, lon=117.0)
    assert r.status_code == 201, r.text
    assert (await stations.get(f"{INSTITUTIONS}/{jinan}")).json()["offsite"] is True


async def test_duplicate_is_409(stations, auth):
    code = fresh_code()
    assert (await _create(stations, auth, code=code)).status_code == 201
    again = await _create(stations, auth, code=code)
    assert again.status_code == 409


async def test_code_rules_are_422_naming_the_field(stations, auth):
    cases = [
        ({"code": "H3716020001"}, "body.code"),
        ({"code": "Q37160200001"}, "body.code"),
        ({"code": fresh_code("P"), "tier": 2}, "body.code"),
        ({"code": fresh_code(), "region_code": "371603"}, "body.region_code"),
        ({"code": fresh_code(), "tier": None}, "body.tier"),
        ({"code": fresh_code(), "tier": 4}, "body.tier"),
        ({"code": fresh_code("P"), "kind": "pharmacy", "tier": 1}, "body.tier"),
        ({"code": fresh_code(county="371699"), "region_code": "371699"}, "body.region_code"),
        ({"code": fresh_code(), "lat": 95}, "body.lat"),
    ]
    for fields, field in cases:
        r = await _create(stations, auth, **fields)
        assert r.status_code == 422, (fields, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (fields, r.json())
    assert (await stations.get(f"{INSTITUTIONS}/XYZ")).status_code == 422
    # County 371699 is not in the city, so nothing with its code is ever registered.
    assert (await stations.get(f"{INSTITUTIONS}/H37169900001")).status_code == 404


async def test_only_admin_registers_and_changes_designation(stations, auth):
    code = fresh_code()
    body = {"code": code, "name": "x", "kind": "hospital", "tier": 1, "region_code": "371602",
            "lat": 37.4, "lon": 118.0}  # fmt: skip
    assert (await stations.post(INSTITUTIONS, json=body)).status_code == 401
    forbidden = await stations.post(
        INSTITUTIONS, json=body, headers=auth("institution", "H37160200001")
    )
    assert forbidden.status_code == 403
    assert (await stations.post(INSTITUTIONS, json=body, headers=auth("admin"))).status_code == 201
    r = await stations.patch(
        f"{INSTITUTIONS}/{code}", json={"designated": False}, headers=auth("admin")
    )
    assert r.status_code == 200 and r.json()["designated"] is False
    assert (await stations.get(f"{INSTITUTIONS}/{code}")).json()["designated"] is False
    missing = await stations.patch(
        f"{INSTITUTIONS}/H37169900002", json={"designated": True}, headers=auth("admin")
    )
    assert missing.status_code == 404


async def test_list_by_kind(stations, auth):
    code = fresh_code("P", "371625")
    r = await _create(stations, auth, code=code, kind="pharmacy", tier=None,
                      region_code="371625001")  # fmt: skip
    assert r.status_code == 201, r.text
    listed = await stations.get(
        INSTITUTIONS, params={"kind": "pharmacy", "region_code": "371625", "limit": 500}
    )
    assert listed.status_code == 200
    assert code in [i["code"] for i in listed.json()["items"]]
    assert all(i["kind"] == "pharmacy" for i in listed.json()["items"])
