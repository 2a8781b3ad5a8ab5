"""Every service refuses an oversized body and absurdly nested JSON itself, gateway or not."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.childcare.app import create_app as create_childcare
from shared.limits import MAX_JSON_DEPTH, json_depth_exceeds
from tests.conftest import running


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"", False),
        (b'{"items": [{"code": "XA0001", "quantity": "1"}]}', False),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (nested(MAX_JSON_DEPTH + 1), True),
        # Wide, not deep: many brackets side by side.
        (json.dumps([[{"x": [1]}] for _ in range(5000)]).encode(), False),
        # Brackets inside strings, escaped quotes included, are text, not nesting.
        (json.dumps({"note": "[" * 1000, "q": '\\"[[[' * 100}).encode(), False),
        # Unmatched brackets past the limit.
        (b"[" * 100, True),
        (b"[{]}" * 40, True),
    ],
)
def test_depth(body: bytes, too_deep: bool) -> None:
    assert json_depth_exceeds(body) is too_deep


@given(st.recursive(st.integers() | st.text(), lambda inner: st.lists(inner, max_size=3)))
def test_depth_agrees_with_the_parsed_document(document: object) -> None:
    def depth(value: object) -> int:
        return 1 + max(map(depth, value), default=0) if isinstance(value, list) else 0

    body = json.dumps(document).encode()
    assert json_depth_exceeds(body, limit=3) is (depth(document) > 3)


@pytest.fixture(scope="module")
async def childcare_limited(settings_for):
    app = create_childcare(settings_for("childcare", max_body_bytes=5000))
    async with running(app) as client:
        yield client


async def test_a_service_refuses_a_body_over_its_limit(childcare_limited, auth):
    answer = await childcare_limited.post(
        "/childcare/v1/institutions",
        content=b'{"name": "' + b"x" * 10000 + b'"}',
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_service_refuses_absurdly_nested_json(childcare_limited, auth):
    answer = await childcare_limited.post(
        "/childcare/v1/institutions",
        content=nested(300),
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "body", "message": answer.json()["errors"][0]["message"]}
    ]
    assert "deeper than" in answer.json()["detail"]


async def test_a_body_within_the_limits_reaches_the_route(childcare_limited, auth):
    answer = await childcare_limited.post(
        "/childcare/v1/institutions",
        json={"name": 1},
        headers=auth("admin"),
    )
    assert answer.status_code == 422  # the route's own validation saw the body
    assert any(e["field"].startswith("body") for e in answer.json()["errors"])
