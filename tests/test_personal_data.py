"""The personal-data policy (shared/personal_data.py): who sees full ID numbers and phone
numbers, on which routes, and that no other route answers one."""

from tests.services.childcare.helpers import API as CHILDCARE
from tests.services.childcare.helpers import fresh_id_number as childcare_id_number
from tests.services.childcare.helpers import new_institution, operator, reviewer
from tests.services.childcare.test_staff_bans import hire, staff_body
from tests.services.enrollment.helpers import BASE as ENROLLMENT
from tests.services.enrollment.helpers import new_person

PHONE = "13812345678"
MASKED_PHONE = "138****5678"


def masked(id_number: str) -> str:
    return f"{id_number[:6]}********{id_number[-4:]}"


async def _hire(childcare, auth) -> tuple[dict, str, dict]:
    inst = await new_institution(childcare, auth)
    id_number = childcare_id_number()
    body = staff_body(id_number, phone=PHONE)
    hired = await hire(childcare, operator(auth, inst["id"]), inst["id"], body)
    assert hired.status_code == 201, hired.text
    return inst, id_number, hired.json()


async def test_staff_detail_is_full_for_the_institution_and_the_bureau_masked_for_reviewers(
    childcare, auth
):
    inst, id_number, hired = await _hire(childcare, auth)
    assert (hired["id_number"], hired["phone"]) == (id_number, PHONE)
    detail = f"{CHILDCARE}/institutions/{inst['id']}/staff/{hired['id']}"
    for headers in (operator(auth, inst["id"]), auth("admin")):
        full = await childcare.get(detail, headers=headers)
        assert full.status_code == 200, full.text
        assert (full.json()["id_number"], full.json()["phone"]) == (id_number, PHONE)
    seen = await childcare.get(detail, headers=reviewer(auth, inst["region_code"][:6]))
    assert seen.status_code == 200, seen.text
    assert (seen.json()["id_number"], seen.json()["phone"]) == (masked(id_number), MASKED_PHONE)
    assert id_number not in seen.text and PHONE not in seen.text


async def test_an_edit_answers_by_the_same_policy(childcare, auth):
    inst, id_number, hired = await _hire(childcare, auth)
    detail = f"{CHILDCARE}/institutions/{inst['id']}/staff/{hired['id']}"
    edited = await childcare.patch(
        detail, json={"training_hours": 50}, headers=operator(auth, inst["id"])
    )
    assert edited.status_code == 200 and edited.json()["id_number"] == id_number
    refused = await childcare.patch(
        detail, json={"training_hours": 60}, headers=reviewer(auth, inst["region_code"][:6])
    )
    assert refused.status_code == 403
    assert id_number not in refused.text


async def test_a_person_is_full_to_staff_and_to_their_own_app(enrollment, auth):
    person = await new_person(enrollment, auth("station", "1"), phone=PHONE)
    pid = person["person_id"]
    for headers in (auth("admin"), auth("station", "1"), auth("app", person_id=pid)):
        read = await enrollment.get(f"{ENROLLMENT}/persons/{pid}", headers=headers)
        assert read.status_code == 200, read.text
        assert (read.json()["id_number"], read.json()["phone"]) == (person["id_number"], PHONE)
    listed = await enrollment.get(
        f"{ENROLLMENT}/persons", params={"id_number": person["id_number"]}, headers=auth("admin")
    )
    assert listed.json()["items"][0]["id_number_masked"] == masked(person["id_number"])
    assert person["id_number"] not in listed.text and PHONE not in listed.text


def _refs(node, schemas: dict, seen: set[str]) -> None:
    """Every schema ``node`` refers to, however deeply."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                _refs(schemas.get(name), schemas, seen)
        for value in node.values():
            _refs(value, schemas, seen)
    elif isinstance(node, list):
        for value in node:
            _refs(value, schemas, seen)


def test_only_the_routes_the_policy_names_answer_a_full_id_number(service_apps):
    from shared.personal_data import POLICY

    answering: dict[str, set[str]] = {}
    for app in service_apps.values():
        document = app.openapi()
        schemas = document.get("components", {}).get("schemas", {})
        for path, item in document["paths"].items():
            for method, operation in item.items():
                seen: set[str] = set()
                for status, response in operation.get("responses", {}).items():
                    if status.startswith("2"):
                        _refs(response, schemas, seen)
                for name in seen:
                    if "id_number" in schemas[name].get("properties", {}):
                        answering.setdefault(name, set()).add(f"{method.upper()} {path}")
    assert answering == {rule.schema: set(rule.routes) for rule in POLICY}
