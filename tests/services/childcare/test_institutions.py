"""Institutions: particulars, their rules, and who sees what."""

from tests.services.childcare.helpers import (
    API,
    fresh_uscc,
    institution_body,
    new_institution,
    operator,
    reviewer,
)


async def test_create_and_read_back_every_particular(childcare, auth):
    inst = await new_institution(childcare, auth)
    assert inst["filing"]["state"] == "draft"
    assert inst["filing"]["filing_number"] is None
    read = await childcare.get(
        f"{API}/institutions/{inst['id']}", headers=operator(auth, inst["id"])
    )
    assert read.status_code == 200
    body = read.json()
    assert body["nature"] == "for_profit" and body["registration_authority"] == "market_regulation"
    assert {c["age_group"]: c["capacity"] for c in body["capacity"]} == {
        "infant": 5,
        "toddler": 10,
        "preschool": 10,
    }
    assert {f["service_mode"]: f["amount"] for f in body["fees"]} == {
        "full_day": "1800.00",
        "hourly": "30.50",
    }
    assert body["facilities"]["indoor_area_m2"] == 300
    assert body["filing"]["allowed_actions"] == ["submit"]


async def test_nature_and_authority_mismatch_is_422_naming_the_field(childcare, auth):
    body = institution_body(nature="non_profit", registration_authority="market_regulation")
    response = await childcare.post(f"{API}/institutions", json=body, headers=auth("admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.registration_authority"
    # A credit code from civil affairs cannot be a market-regulation registration.
    body = institution_body(uscc=fresh_uscc("52"))
    response = await childcare.post(f"{API}/institutions", json=body, headers=auth("admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.uscc"
    ok = institution_body(
        uscc=fresh_uscc("52"), nature="non_profit", registration_authority="civil_affairs"
    )
    assert (
        await childcare.post(f"{API}/institutions", json=ok, headers=auth("admin"))
    ).status_code == 201


async def test_kindergarten_class_takes_only_ages_two_to_three(childcare, auth):
    body = institution_body(
        uscc=fresh_uscc("12"),
        nature="non_profit",
        registration_authority="staffing_office",
        form="kindergarten_class",
    )
    response = await childcare.post(f"{API}/institutions", json=body, headers=auth("admin"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.capacity.infant", "body.capacity.toddler"}
    body["capacity"] = {"preschool": 30}
    assert (
        await childcare.post(f"{API}/institutions", json=body, headers=auth("admin"))
    ).status_code == 201


async def test_bad_credit_code_region_and_duplicates(childcare, auth):
    body = institution_body()
    bad = {**body, "uscc": body["uscc"][:-1] + ("0" if body["uscc"][-1] != "0" else "1")}
    response = await childcare.post(f"{API}/institutions", json=bad, headers=auth("admin"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.uscc"
    outside = {**body, "region_code": "370302001"}
    response = await childcare.post(f"{API}/institutions", json=outside, headers=auth("admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.region_code"
    assert (
        await childcare.post(f"{API}/institutions", json=body, headers=auth("admin"))
    ).status_code == 201
    again = await childcare.post(f"{API}/institutions", json=body, headers=auth("admin"))
    assert again.status_code == 409
    assert (
        await childcare.post(
            f"{API}/institutions", json=institution_body(), headers=operator(auth, 1)
        )
    ).status_code == 403
    assert (await childcare.post(f"{API}/institutions", json=institution_body())).status_code == 401


async def test_operator_sees_only_its_own_and_reviewer_only_its_region(childcare, auth):
    mine = await new_institution(childcare, auth)
    other = await new_institution(childcare, auth, "371681002")
    headers = operator(auth, mine["id"])
    assert (
        await childcare.get(f"{API}/institutions/{other['id']}", headers=headers)
    ).status_code == 404
    listed = await childcare.get(f"{API}/institutions", headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [mine["id"]]
    bincheng = reviewer(auth, "371602")
    assert (
        await childcare.get(f"{API}/institutions/{mine['id']}", headers=bincheng)
    ).status_code == 200
    assert (
        await childcare.get(f"{API}/institutions/{other['id']}", headers=bincheng)
    ).status_code == 404
    region_list = await childcare.get(f"{API}/institutions?limit=500", headers=bincheng)
    assert all(i["region_code"].startswith("371602") for i in region_list.json()["items"])
    assert (
        await childcare.get(
            f"{API}/institutions/{mine['id']}", headers=auth("pharmacy", "P37160200007")
        )
    ).status_code == 403


async def test_edit_only_while_draft_or_returned(childcare, auth):
    inst = await new_institution(childcare, auth)
    headers = operator(auth, inst["id"])
    edited = await childcare.patch(
        f"{API}/institutions/{inst['id']}", json={"address": "新地址 9 号"}, headers=headers
    )
    assert edited.status_code == 200 and edited.json()["address"] == "新地址 9 号"
    bad = await childcare.patch(
        f"{API}/institutions/{inst['id']}", json={"form": "kindergarten_class"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("body.capacity")
    other = operator(auth, inst["id"] + 100000)
    assert (
        await childcare.patch(f"{API}/institutions/{inst['id']}", json={"name": "x"}, headers=other)
    ).status_code == 404
    await childcare.post(f"{API}/institutions/{inst['id']}/filings/submit", headers=headers)
    locked = await childcare.patch(
        f"{API}/institutions/{inst['id']}", json={"address": "又一个地址"}, headers=headers
    )
    assert locked.status_code == 409
    read = await childcare.get(f"{API}/institutions/{inst['id']}", headers=headers)
    assert read.json()["address"] == "新地址 9 号"


async def test_occupancy_within_capacity(childcare, auth):
    inst = await new_institution(childcare, auth)
    headers = operator(auth, inst["id"])
    ok = await childcare.put(
        f"{API}/institutions/{inst['id']}/occupancy",
        json={"enrolled": {"toddler": 10}},
        headers=headers,
    )
    toddler = next(c for c in ok.json()["capacity"] if c["age_group"] == "toddler")
    assert toddler["vacancy"] == 0
    too_many = await childcare.put(
        f"{API}/institutions/{inst['id']}/occupancy",
        json={"enrolled": {"infant": 6}},
        headers=headers,
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "body.enrolled.infant"
