"""Public disclosure: approved institutions only, nearest first, never personal data."""

import re
from datetime import date, timedelta

from tests.services.childcare.helpers import (
    API,
    act,
    approved_institution,
    fresh_id_number,
    new_institution,
    operator,
    reviewer,
)

# A spot far from the demo city's institutions so these tests see only their own rows first.
LAT, LON = 37.05, 117.30


async def test_nearest_first_filters_and_no_personal_data(childcare, auth):
    near = await approved_institution(childcare, auth, lat=LAT + 0.001, lon=LON)
    far = await approved_institution(
        childcare,
        auth,
        lat=LAT + 0.02,
        lon=LON,
        service_modes=["half_day"],
        fees={"half_day": {"amount": "900.00", "period": "month"}},
        capacity={"toddler": 5},
    )
    unfiled = await new_institution(childcare, auth, lat=LAT, lon=LON)
    suspended = await approved_institution(childcare, auth, lat=LAT, lon=LON + 0.0005)
    assert (
        await act(childcare, reviewer(auth), suspended["id"], "suspend", "整改")
    ).status_code == 200
    staff_ids = [fresh_id_number() for _ in range(2)]
    for inst, id_number in zip((near, far), staff_ids, strict=True):
        made = await childcare.post(
            f"{API}/institutions/{inst['id']}/staff",
            json={
                "id_number": id_number,
                "name": "李秀英",
                "role": "director",
                "phone": "13900001111",
                "hired_on": "2024-01-01",
            },
            headers=operator(auth, inst["id"]),
        )
        assert made.status_code == 201
    await childcare.post(
        f"{API}/institutions/{near['id']}/inspections",
        json={
            "level": "county",
            "inspected_on": (date.today() - timedelta(days=3)).isoformat(),
            "result": "pass",
            "findings": [{"item": "卫生", "description": "消毒记录不全", "severity": "minor"}],
        },
        headers=reviewer(auth),
    )

    response = await childcare.get(f"{API}/public/institutions?lat={LAT}&lon={LON}&radius_m=5000")
    assert response.status_code == 200
    items = response.json()["items"]
    ids = [i["id"] for i in items]
    assert ids[:2] == [near["id"], far["id"]]
    assert unfiled["id"] not in ids and suspended["id"] not in ids
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)
    first = items[0]
    assert 100 <= first["distance_m"] <= 130
    assert first["filing_number"].startswith("托备-371602-")
    assert first["latest_inspection"]["result"] == "pass"
    assert first["latest_inspection"]["max_severity"] == "minor"
    assert first["latest_inspection"]["rectified"] is None  # no rectification was ordered
    assert {f["service_mode"]: f["amount"] for f in first["fees"]}["full_day"] == "1800.00"
    assert {c["age_group"] for c in first["capacity"]} == {"infant", "toddler", "preschool"}

    text = response.text
    for id_number in staff_ids:
        assert id_number not in text and id_number[-4:] + '"' not in text
    assert "13900001111" not in text and "0543-3123456" not in text
    assert "李秀英" not in text
    assert "phone" not in text and "id_number" not in text
    assert not re.search(r"\d{17}[\dX]", text)

    by_mode = await childcare.get(
        f"{API}/public/institutions?lat={LAT}&lon={LON}&radius_m=5000&service_mode=half_day"
    )
    assert [i["id"] for i in by_mode.json()["items"]] == [far["id"]]
    infants = await childcare.get(
        f"{API}/public/institutions?lat={LAT}&lon={LON}&radius_m=5000&age_group=infant"
    )
    assert far["id"] not in [i["id"] for i in infants.json()["items"]]
    cheap = await childcare.get(
        f"{API}/public/institutions?lat={LAT}&lon={LON}&radius_m=5000&max_fee=1000"
    )
    assert [i["id"] for i in cheap.json()["items"]] == [far["id"]]
    # With a service mode, the budget is held against that mode's fee.
    full_day = f"{API}/public/institutions?lat={LAT}&lon={LON}&radius_m=5000&service_mode=full_day"
    assert near["id"] not in [
        i["id"] for i in (await childcare.get(full_day + "&max_fee=1000")).json()["items"]
    ]
    assert near["id"] in [
        i["id"] for i in (await childcare.get(full_day + "&max_fee=1800")).json()["items"]
    ]


async def test_vacancy_and_paging(childcare, auth):
    lat, lon = 36.95, 117.25
    full = await approved_institution(childcare, auth, lat=lat, lon=lon, capacity={"toddler": 2})
    await childcare.put(
        f"{API}/institutions/{full['id']}/occupancy",
        json={"enrolled": {"toddler": 2}},
        headers=operator(auth, full["id"]),
    )
    open_ = await approved_institution(childcare, auth, lat=lat + 0.003, lon=lon)
    query = f"{API}/public/institutions?lat={lat}&lon={lon}&radius_m=2000"
    with_vacancy = await childcare.get(query + "&vacancy=true")
    assert [i["id"] for i in with_vacancy.json()["items"]] == [open_["id"]]
    first = await childcare.get(query + "&limit=1")
    assert [i["id"] for i in first.json()["items"]] == [full["id"]]
    cursor = first.json()["next_cursor"]
    second = await childcare.get(query + f"&limit=1&cursor={cursor}")
    assert [i["id"] for i in second.json()["items"]] == [open_["id"]]
    assert second.json()["next_cursor"] is None
    assert (await childcare.get(f"{API}/public/institutions?lat=95&lon=1")).status_code == 422
    # A cursor tampered to an id no bigint holds is refused, not a 500.
    from shared.pagination import encode_cursor

    forged = encode_cursor([100.0, 2**63])
    tampered = await childcare.get(query + f"&limit=1&cursor={forged}")
    assert tampered.status_code == 422
    assert tampered.json()["errors"][0]["field"] == "query.cursor"
    assert (await childcare.get(f"{API}/public/institutions?lon=1")).status_code == 422
