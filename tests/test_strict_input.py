"""Strict input in every service (API.md "Strict input"): a field only in its documented JSON
type, text without NUL, integers in range, cursors only as given out; each refusal a 422 naming
the field, and nothing recorded. (The settlement path: tests/services/claims/test_strict_input.)
"""

from __future__ import annotations

import random

import pytest

from shared.pagination import encode_cursor
from tests.services.childcare.helpers import institution_body
from tests.services.enrollment.helpers import fresh_id_number


def _fields(answer) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in answer.json()["errors"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("poverty", "yes"),  # was taken as true
        ("poverty", 1),
        ("name", "张\x00伟"),  # was a 500
        ("region_code", 371602001),
        ("id_number", 371602198001010013),
        ("phone", 13800000000),
    ],
)
async def test_a_person_field_in_another_type_is_refused_and_nobody_enrolled(
    enrollment, auth, field, value
):
    id_number = fresh_id_number()
    body = {"id_number": id_number, "name": "张伟", "region_code": "371602001", field: value}
    answer = await enrollment.post("/enrollment/v1/persons", json=body, headers=auth("admin"))
    assert _fields(answer) == [f"body.{field}"]
    if field != "id_number":
        found = await enrollment.get(
            "/enrollment/v1/persons", params={"id_number": id_number}, headers=auth("admin")
        )
        assert found.status_code == 200 and found.json()["items"] == []


async def test_coverage_dates_and_money_only_as_strings(enrollment, auth):
    created = await enrollment.post(
        "/enrollment/v1/persons",
        json={"id_number": fresh_id_number(), "name": "王芳", "region_code": "371602001"},
        headers=auth("admin"),
    )
    person = created.json()["person_id"]
    base = f"/enrollment/v1/persons/{person}"
    for body, field in [
        ({"scheme": "resident", "start_date": 20240101}, "body.start_date"),
        ({"scheme": "resident", "start_date": "2024-01-01", "retired": "false"}, "body.retired"),
        ({"scheme": 1, "start_date": "2024-01-01"}, "body.scheme"),
    ]:
        assert field in _fields(
            await enrollment.post(f"{base}/coverages", json=body, headers=auth("admin"))
        )
    contribution = {"year": 2024, "scheme": "resident", "payer": "person", "paid_on": "2024-01-05"}
    for amount in (380, 380.0, "３８０.00"):
        answer = await enrollment.post(
            f"{base}/contributions", json={**contribution, "amount": amount}, headers=auth("admin")
        )
        assert _fields(answer) == ["body.amount"]
    listed = await enrollment.get(f"{base}/coverages", headers=auth("admin"))
    paid = await enrollment.get(f"{base}/contributions", headers=auth("admin"))
    assert listed.json() == [] and paid.json() == []


async def test_ids_out_of_range_in_paths_and_queries(enrollment, auth):
    for person in (2**63, 0, "１"):
        answer = await enrollment.get(f"/enrollment/v1/persons/{person}", headers=auth("admin"))
        assert _fields(answer) == ["path.person_id"]
        answer = await enrollment.get(
            f"/enrollment/v1/persons/{person}/eligibility", headers=auth("admin")
        )
        assert _fields(answer) == ["path.person_id"]
    answer = await enrollment.get(
        "/enrollment/v1/access-log", params={"person_id": 10**30}, headers=auth("admin")
    )
    assert _fields(answer) == ["query.person_id"]
    answer = await enrollment.get(
        "/enrollment/v1/persons/1/eligibility", params={"date": "0"}, headers=auth("admin")
    )
    assert _fields(answer) == ["query.date"]


async def test_a_public_list_refuses_a_cursor_it_did_not_give_out(stations):
    """``GET /stations/v1/regions?cursor=Mw`` (no token) was a 500: "Mw" is the id 3."""
    for cursor in ("Mw", "AAAA", "IgAi", "a" * 401):
        answer = await stations.get("/stations/v1/regions", params={"cursor": cursor})
        assert _fields(answer) == ["query.cursor"]
    one_given_out = encode_cursor("371602")  # regions page by code
    answer = await stations.get("/stations/v1/regions", params={"cursor": one_given_out})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("lat", "37.4"), ("lat", True), ("tier", "2"), ("tier", 2.0), ("name", "医院\x00")],
)
async def test_an_institution_field_in_another_type_is_refused(stations, auth, field, value):
    code = f"H371602{random.randrange(10_000, 99_999):05d}"
    body = {"code": code, "name": "测试医院", "kind": "hospital", "tier": 2,
            "region_code": "371602", "lat": 37.4, "lon": 118.0, field: value}  # fmt: skip
    answer = await stations.post("/stations/v1/institutions", json=body, headers=auth("admin"))
    assert _fields(answer) == [f"body.{field}"]
    assert (await stations.get(f"/stations/v1/institutions/{code}")).status_code == 404


def _set(*path: str, value: object):
    def change(body: dict) -> None:
        node = body
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("capacity", "toddler", value=True), "body.capacity.toddler"),
        (_set("capacity", "toddler", value=10**6), "body.capacity.toddler"),
        (_set("fees", "full_day", "amount", value=1800), "body.fees.full_day.amount"),
        (_set("facilities", "cctv", value="yes"), "body.facilities.cctv"),
        (_set("address", value="黄河五路\x00"), "body.address"),
        (_set("lat", value="37.43"), "body.lat"),
    ],
)
async def test_a_childcare_field_in_another_type_is_refused(childcare, auth, change, field):
    body = institution_body()
    change(body)
    answer = await childcare.post("/childcare/v1/institutions", json=body, headers=auth("admin"))
    assert _fields(answer) == [field]
    listed = await childcare.get(
        "/childcare/v1/institutions", params={"limit": 500}, headers=auth("admin")
    )
    assert body["name"] not in [i["name"] for i in listed.json()["items"]]
