"""Pharmacy price and stock: own-pharmacy bulk upsert (all or nothing), read-back, public search."""

from __future__ import annotations

import random

import pytest

from .conftest import offset, remote_point

NEARBY = "/stations/v1/pharmacies/nearby"


@pytest.fixture(autouse=True)
def _drugs(fake_drug_catalog):
    return fake_drug_catalog


async def _pharmacy(stations, auth, lat=None, lon=None) -> str:
    if lat is None:
        lat, lon = remote_point()
    code = f"P371681{random.randrange(10_000, 99_999):05d}"
    body = {"code": code, "name": "测试药店", "kind": "pharmacy", "region_code": "371681001",
            "lat": lat, "lon": lon}  # fmt: skip
    r = await stations.post("/stations/v1/institutions", json=body, headers=auth("admin"))
    if r.status_code == 409:  # a random code already taken: take another
        return await _pharmacy(stations, auth, lat, lon)
    assert r.status_code == 201, r.text
    return code


def _url(code: str) -> str:
    return f"/stations/v1/pharmacies/{code}/inventory"


async def _read(stations, auth, code):
    r = await stations.get(_url(code), params={"limit": 500}, headers=auth("pharmacy", code))
    assert r.status_code == 200, r.text
    return {row["drug_code"]: row for row in r.json()["items"]}


async def test_upsert_read_back_and_flag_above_payment_standard(stations, auth):
    code = await _pharmacy(stations, auth)
    rows = [
        {"drug_code": "XA0001", "price": "1.20", "stock": 10},  # standard 1.50
        {"drug_code": "XA0002", "price": "2.60", "stock": 0},  # standard 2.50: above
        {"drug_code": "TB00001", "price": "30", "stock": 5},  # no standard
    ]
    r = await stations.put(_url(code), json=rows, headers=auth("pharmacy", code))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["created"], body["updated"]) == (3, 3, 0)
    assert [(f["row"], f["drug_code"], f["payment_standard"]) for f in body["flagged"]] == [
        (1, "XA0002", "2.50")
    ]
    stored = await _read(stations, auth, code)
    assert stored["XA0001"]["price"] == "1.20" and stored["XA0001"]["stock"] == 10
    assert stored["XA0002"]["above_payment_standard"] is True
    assert stored["TB00001"]["price"] == "30.00"
    assert stored["TB00001"]["payment_standard"] is None

    again = await stations.put(
        _url(code), json=[{"drug_code": "XA0001", "price": "1.40", "stock": 7}],
        headers=auth("pharmacy", code),
    )  # fmt: skip
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)
    stored = await _read(stations, auth, code)
    assert stored["XA0001"]["stock"] == 7 and stored["XA0002"]["stock"] == 0


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        ({"drug_code": "NOPE0001", "price": "3.00", "stock": 1}, "body.1.drug_code"),
        ({"drug_code": "XA0003", "price": "3.00", "stock": -1}, "body.1.stock"),
        ({"drug_code": "XA0003", "price": "3.001", "stock": 1}, "body.1.price"),
        ({"drug_code": "XA0003", "price": "abc", "stock": 1}, "body.1.price"),
        ({"drug_code": "XA0003", "price": "-3.00", "stock": 1}, "body.1.price"),
        ({"drug_code": "XA0001", "price": "3.00", "stock": 1}, "body.1.drug_code"),  # twice
    ],
)
async def test_a_bad_row_is_reported_and_nothing_is_applied(stations, auth, bad_row, field):
    code = await _pharmacy(stations, auth)
    first = [{"drug_code": "XA0001", "price": "1.00", "stock": 1}]
    assert (
        await stations.put(_url(code), json=first, headers=auth("pharmacy", code))
    ).status_code == 200

    rows = [
        {"drug_code": "XA0001", "price": "1.10", "stock": 99},
        bad_row,
        {"drug_code": "XA0004", "price": "4.00", "stock": 4},
    ]
    r = await stations.put(_url(code), json=rows, headers=auth("pharmacy", code))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    stored = await _read(stations, auth, code)
    assert set(stored) == {"XA0001"}
    assert stored["XA0001"]["price"] == "1.00" and stored["XA0001"]["stock"] == 1


async def test_every_bad_row_is_reported(stations, auth):
    code = await _pharmacy(stations, auth)
    rows = [
        {"drug_code": "XA0001", "price": "1.00", "stock": 1},
        {"drug_code": "NOPE0001", "price": "1.00", "stock": 1},
        {"drug_code": "XA0002", "price": "1.00", "stock": 1},
        {"drug_code": "NOPE0002", "price": "1.00", "stock": 1},
        {"drug_code": "XA0002", "price": "1.00", "stock": 1},
    ]
    r = await stations.put(_url(code), json=rows, headers=auth("pharmacy", code))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [
        "body.1.drug_code", "body.3.drug_code", "body.4.drug_code",
    ]  # fmt: skip
    assert r.json()["applied"] == 0


async def test_thousands_of_rows_in_one_request(stations, auth):
    code = await _pharmacy(stations, auth)
    rows = [
        {"drug_code": f"TB{n:05d}", "price": f"{n % 300}.{n % 100:02d}", "stock": n % 50}
        for n in range(1, 5001)
    ]
    r = await stations.put(_url(code), json=rows, headers=auth("pharmacy", code))
    assert r.status_code == 200, r.text[:500]
    assert r.json()["applied"] == 5000 and r.json()["created"] == 5000
    page = await stations.get(_url(code), params={"limit": 500}, headers=auth("pharmacy", code))
    assert len(page.json()["items"]) == 500 and page.json()["next_cursor"]
    nxt = await stations.get(
        _url(code), params={"limit": 500, "cursor": page.json()["next_cursor"]},
        headers=auth("pharmacy", code),
    )  # fmt: skip
    assert nxt.json()["items"][0]["drug_code"] == "TB00501"


async def test_another_pharmacy_can_neither_read_nor_write(stations, auth):
    mine = await _pharmacy(stations, auth)
    other = await _pharmacy(stations, auth)
    rows = [{"drug_code": "XA0001", "price": "1.00", "stock": 1}]
    assert (
        await stations.put(_url(mine), json=rows, headers=auth("pharmacy", other))
    ).status_code == 403
    assert (await stations.get(_url(mine), headers=auth("pharmacy", other))).status_code == 403
    assert (await stations.get(_url(mine))).status_code == 401
    assert (
        await stations.get(_url(mine), headers=auth("institution", "H37160200001"))
    ).status_code == 403
    assert (await stations.get(_url(mine), headers=auth("admin"))).status_code == 200
    missing = await stations.get(_url("P37169900001"), headers=auth("admin"))
    assert missing.status_code == 404
    assert await _read(stations, auth, mine) == {}


async def test_public_search_nearest_first_in_stock_with_price(stations, auth):
    lat, lon = remote_point()
    near = await _pharmacy(stations, auth, *offset(lat, lon, 500, 0))
    far = await _pharmacy(stations, auth, *offset(lat, lon, 0, 3000))
    empty = await _pharmacy(stations, auth, *offset(lat, lon, 100, 0))
    out_of_range = await _pharmacy(stations, auth, *offset(lat, lon, 30_000, 0))
    for code, price, stock in [(near, "5.80", 3), (far, "5.20", 9), (empty, "5.00", 0),
                               (out_of_range, "4.00", 9)]:  # fmt: skip
        r = await stations.put(
            _url(code), json=[{"drug_code": "XA0005", "price": price, "stock": stock}],
            headers=auth("pharmacy", code),
        )  # fmt: skip
        assert r.status_code == 200

    r = await stations.get(NEARBY, params={"drug_code": "XA0005", "lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["code"] for i in items] == [near, far]
    assert items[0]["price"] == "5.80" and items[0]["above_payment_standard"] is True
    assert items[1]["above_payment_standard"] is False
    assert 499 < items[0]["distance_m"] < 501

    with_empty = await stations.get(
        NEARBY, params={"drug_code": "XA0005", "lat": lat, "lon": lon, "in_stock": "false"}
    )
    assert [i["code"] for i in with_empty.json()["items"]] == [empty, near, far]
    wide = await stations.get(
        NEARBY, params={"drug_code": "XA0005", "lat": lat, "lon": lon, "radius_m": 50_000}
    )
    assert [i["code"] for i in wide.json()["items"]][-1] == out_of_range
    none = await stations.get(NEARBY, params={"drug_code": "XA0006", "lat": lat, "lon": lon})
    assert none.status_code == 200 and none.json()["items"] == []

    # A pharmacy whose designation is withdrawn is no longer found.
    withdrawn = await stations.patch(
        f"/stations/v1/institutions/{near}", json={"designated": False}, headers=auth("admin")
    )
    assert withdrawn.status_code == 200
    after = await stations.get(NEARBY, params={"drug_code": "XA0005", "lat": lat, "lon": lon})
    assert [i["code"] for i in after.json()["items"]] == [far]


async def test_more_rows_than_one_report_holds_is_422(stations, auth):
    code = await _pharmacy(stations, auth)
    rows = [{"drug_code": "XA0001", "price": "1.00", "stock": 1}] * 10_001
    r = await stations.put(_url(code), json=rows, headers=auth("pharmacy", code))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
