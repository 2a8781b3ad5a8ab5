"""Strict input on the settlement path (API.md "Strict input"): each field only in its documented
JSON type, ranges kept, no NUL; each refusal a 422 naming the field, and nothing recorded."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.claims.clients.enrollment import EligibilityCoalescer, HttpEnrollmentClient
from services.claims.flows import gather_inputs
from services.claims.schemas import SettlementRequest
from shared.auth import ClientKind, Principal
from shared.errors import Unprocessable
from tests.services.claims.conftest import HOSPITAL, FakeStations, item, key, visit

INSTITUTION = {"kind": "institution", "bound": HOSPITAL}


def _with(body: dict, path: str, value: object) -> dict:
    """``body`` with the field at the dotted ``path`` (``items.0.unit_price``) set to ``value``."""
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node = copy
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return copy


CASES = [
    ("person_id", True, "body.person_id"),  # was paid for person 1
    ("person_id", "12", "body.person_id"),
    ("person_id", 1.0, "body.person_id"),
    ("person_id", 10**30, "body.person_id"),  # was a 500
    ("person_id", 2**63, "body.person_id"),  # was a 503
    ("person_id", 0, "body.person_id"),
    ("items.0.unit_price", 12.5, "body.items.0.unit_price"),  # was taken as money
    ("items.0.unit_price", "１２.50", "body.items.0.unit_price"),
    ("items.0.unit_price", "12.505", "body.items.0.unit_price"),
    ("items.0.quantity", "１", "body.items.0.quantity"),  # was taken as 1
    ("items.0.quantity", 2, "body.items.0.quantity"),
    ("items.0.quantity", True, "body.items.0.quantity"),
    ("items.0.name", "阿托伐\x00他汀", "body.items.0.name"),  # was a 500
    ("items.0.code", "XA\x000001", "body.items.0.code"),
    ("service_date", 0, "body.service_date"),
    ("service_date", 1717372800, "body.service_date"),
    ("service_date", "２０２４-06-03", "body.service_date"),
    ("service_date", "2024-02-30", "body.service_date"),
    ("visit_type", 1, "body.visit_type"),
    ("items.0.category", True, "body.items.0.category"),
    ("disease_code", 42, "body.disease_code"),
]


@pytest.mark.parametrize(("path", "value", "field"), CASES)
async def test_a_field_in_another_type_is_a_422_naming_it_and_nothing_is_settled(
    claims, auth, fakes, path, value, field
):
    person = fakes.person("employee")
    body = _with(visit(person, item("100.00")), path, value)
    answer = await claims.post(
        "/claims/v1/settlements", json=body, headers=auth(**INSTITUTION) | key()
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.json()["errors"]], answer.json()
    listed = await claims.get(f"/claims/v1/persons/{person}/settlements", headers=auth("admin"))
    assert listed.status_code == 200 and listed.json()["items"] == []
    preview = await claims.post(
        "/claims/v1/settlements/preview", json=body, headers=auth(**INSTITUTION)
    )
    assert preview.status_code == 422
    assert field in [e["field"] for e in preview.json()["errors"]]


async def test_a_lone_surrogate_in_text_is_a_422_not_a_500(claims, enrollment, auth, fakes):
    """JSON may escape half a surrogate pair; it is not text PostgreSQL can store."""
    person = fakes.person("employee")
    raw = json.dumps(visit(person, item("100.00")), ensure_ascii=False)
    answer = await claims.post(
        "/claims/v1/settlements",
        content=raw.replace("阿托伐他汀钙片", "\\ud800").encode(),
        headers=auth(**INSTITUTION) | key() | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    # The same through FastAPI's own parsing (Python's json module takes the escape).
    raw = '{"id_number": "371602198001010013", "name": "\\ud800", "region_code": "371602001"}'
    answer = await enrollment.post(
        "/enrollment/v1/persons",
        content=raw.encode(),
        headers=auth("admin") | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {"field": "body.name", "message": "must be Unicode text (a lone surrogate is not)"}
    ]


async def test_ids_in_the_path_beyond_bigint_are_422_well_formed_unknown_ones_404(claims, auth):
    too_big = await claims.get(f"/claims/v1/settlements/{2**63}", headers=auth("admin"))
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "path.settlement_id"
    full_width = await claims.get("/claims/v1/settlements/１２", headers=auth("admin"))
    assert full_width.status_code == 422
    unknown = await claims.get(f"/claims/v1/settlements/{2**63 - 1}", headers=auth("admin"))
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/claims/v1/catalog/drugs", "Mw"),  # 3: an id, where drugs page by code
        ("/claims/v1/audit/flags", "InhhIg"),  # "xa": a code, where flags page by id
        ("/claims/v1/audit/flags", "bm9wZQ"),  # not JSON
        ("/claims/v1/audit/flags", "e30"),  # {}
        ("/claims/v1/audit/flags", "OTIyMzM3MjAzNjg1NDc3NTgwOA"),  # 2^63
        ("/claims/v1/audit/flags", "%%"),  # not base64url
    ],
)
async def test_a_cursor_this_list_did_not_give_out_is_a_422(claims, auth, path, cursor):
    answer = await claims.get(path, params={"cursor": cursor}, headers=auth("admin"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "query.cursor"


async def test_enrollment_refusing_the_question_is_a_422_naming_the_callers_field(
    service_apps, token
):
    """A 422 enrollment answers to claims' call reaches the caller as a 422, not a 503."""
    clients = service_apps["claims"].state.clients
    authorization = f"Bearer {token('institution', bound=HOSPITAL)}"
    enrollment = HttpEnrollmentClient(
        clients["enrollment"], authorization, EligibilityCoalescer(clients["enrollment"])
    )
    # A service whose range is wider than enrollment's: the question itself is refused.
    body = SettlementRequest.model_construct(
        person_id=2**63,
        voucher_code=None,
        institution_code=HOSPITAL,
        service_date=date(2024, 6, 3),
        items=[],
    )
    principal = Principal(client_id="c", kind=ClientKind.institution, bound=HOSPITAL)
    with pytest.raises(Unprocessable) as refused:
        await gather_inputs(principal, body, enrollment, FakeStations())
    assert refused.value.status == 422
    assert [e["field"] for e in refused.value.errors or ()] == ["body.person_id"]
