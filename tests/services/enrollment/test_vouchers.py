"""Electronic voucher codes through the API."""

from __future__ import annotations

import time

from services.enrollment.domain import voucher
from tests.services.enrollment.helpers import BASE, new_person


async def test_app_makes_a_code_that_a_pharmacy_resolves(enrollment, auth):
    person = await new_person(enrollment, auth("admin"), name="赵敏")
    pid = person["person_id"]
    made = await enrollment.post(
        f"{BASE}/persons/{pid}/voucher-codes", headers=auth("app", person_id=pid)
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert made.json()["expires_at"]
    resolved = await enrollment.post(
        f"{BASE}/voucher-codes/resolve",
        json={"code": code},
        headers=auth("pharmacy", "P37160200007"),
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["person_id"] == pid and body["name"] == "赵敏"
    assert (
        body["id_number_masked"] == f"{person['id_number'][:6]}********{person['id_number'][-4:]}"
    )

    svg = await enrollment.get(
        f"{BASE}/persons/{pid}/voucher-codes/{code}.svg", headers=auth("app", person_id=pid)
    )
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    png = await enrollment.get(
        f"{BASE}/persons/{pid}/voucher-codes/{code}.png", headers=auth("admin")
    )
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


async def test_codes_are_refused_when_changed_forged_or_expired(enrollment, auth, service_apps):
    pid = (await new_person(enrollment, auth("admin")))["person_id"]
    code = (
        await enrollment.post(
            f"{BASE}/persons/{pid}/voucher-codes", headers=auth("app", person_id=pid)
        )
    ).json()["code"]
    resolver = auth("institution", "H37160200001")
    position = 20
    changed = code[:position] + ("A" if code[position] != "A" else "B") + code[position + 1 :]
    key = service_apps["enrollment"].state.voucher_key
    cases = {
        changed: "voucher-invalid",
        voucher.issue(b"not the key" * 4, pid, int(time.time()) + 60): "voucher-invalid",
        voucher.issue(key, pid, int(time.time()) - 1): "voucher-expired",
        "hello": "voucher-invalid",
    }
    for bad, slug in cases.items():
        response = await enrollment.post(
            f"{BASE}/voucher-codes/resolve", json={"code": bad}, headers=resolver
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"].endswith(slug)
        assert problem["errors"][0]["field"] == "body.code"
    ok = await enrollment.post(
        f"{BASE}/voucher-codes/resolve", json={"code": code}, headers=resolver
    )
    assert ok.status_code == 200


async def test_only_the_persons_app_or_staff_make_codes_and_only_sites_resolve(enrollment, auth):
    admin = auth("admin")
    mine = (await new_person(enrollment, admin))["person_id"]
    other = (await new_person(enrollment, admin))["person_id"]
    app = auth("app", person_id=mine)
    assert (
        await enrollment.post(f"{BASE}/persons/{other}/voucher-codes", headers=app)
    ).status_code == 404
    assert (
        await enrollment.post(
            f"{BASE}/persons/{mine}/voucher-codes", headers=auth("pharmacy", "P37160200007")
        )
    ).status_code == 403
    code = (await enrollment.post(f"{BASE}/persons/{mine}/voucher-codes", headers=app)).json()[
        "code"
    ]
    assert (
        await enrollment.post(f"{BASE}/voucher-codes/resolve", json={"code": code}, headers=app)
    ).status_code == 403
    # Another person's app cannot render this person's code, even with the code in hand.
    assert (
        await enrollment.get(
            f"{BASE}/persons/{mine}/voucher-codes/{code}.svg",
            headers=auth("app", person_id=other),
        )
    ).status_code == 404
    assert (
        await enrollment.get(f"{BASE}/persons/{other}/voucher-codes/{code}.svg", headers=admin)
    ).status_code == 404
