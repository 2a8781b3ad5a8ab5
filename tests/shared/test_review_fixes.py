"""Edges of the shared pieces: 500s keep the request ID, logs mask nested ID numbers,
the breaker never sticks half-open, tokens are checked for expiry and audience."""

import json
import logging
import time

import httpx
import jwt
import pytest
from fastapi import FastAPI

from shared.auth import TokenVerifier
from shared.errors import ProblemError, install_error_handlers
from shared.http import CircuitBreaker
from shared.logging import JsonFormatter
from shared.middleware import RequestContextMiddleware
from shared.pagination import code_key, encode_cursor, id_key, paging
from shared.validators import InvalidIdentifier, validate_id_number, validate_region_code


async def test_an_unexpected_error_is_a_problem_500_with_the_request_id():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    app.add_middleware(RequestContextMiddleware, access_log=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    ) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "r-500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "r-500"
    assert response.json()["request_id"] == "r-500"


def test_log_lines_mask_id_numbers_wherever_they_are():
    record = logging.makeLogRecord(
        {"msg": "looked up %s", "args": ("371602198001010013",), "levelname": "INFO"}
    )
    record.person = {"id_number": "371602198001010013", "ids": ["37170219901231123X"]}
    line = JsonFormatter("test").format(record)
    assert "371602198001010013" not in line and "37170219901231123X" not in line
    parsed = json.loads(line)
    assert parsed["msg"] == "looked up 371602********0013"
    assert parsed["person"]["ids"] == ["371702********123X"]


def test_an_abandoned_probe_does_not_keep_the_circuit_open():
    breaker = CircuitBreaker("x", threshold=1, reset_seconds=0.05)
    breaker.record_failure()
    time.sleep(0.06)
    assert breaker.allow()  # the probe goes out and is never heard of again (cancelled)
    assert not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()  # given up: another probe may go


@pytest.mark.parametrize("value", ["３７１６０２198001010013", "371602198001010013\u0663"[-18:]])
def test_non_ascii_digits_are_not_id_numbers(value):
    with pytest.raises(InvalidIdentifier):
        validate_id_number(value)
    with pytest.raises(InvalidIdentifier):
        validate_region_code("３７１６０２")


@pytest.mark.parametrize("key", [{"a": 1}, [], [[1]], None, True, "3", 0, 2**63, 1.5])
def test_cursors_of_other_shapes_are_refused(key):
    with pytest.raises(ProblemError) as caught:
        paging(id_key)(limit=5, cursor=encode_cursor(key))
    assert caught.value.status == 422


@pytest.mark.parametrize("key", [3, "", "a\x00b", ["a"], None])
def test_code_cursors_of_other_shapes_are_refused(key):
    with pytest.raises(ProblemError) as caught:
        paging(code_key)(limit=5, cursor=encode_cursor(key))
    assert caught.value.status == 422


def test_expired_and_foreign_audience_tokens_are_refused(keys, settings_for):
    verifier = TokenVerifier(settings_for("enrollment"))
    private = keys[0].read_text()
    now = int(time.time())
    base = {"iss": "yibao", "aud": "yibao", "sub": "c", "kind": "admin", "iat": now}
    expired = jwt.encode({**base, "exp": now - 1}, private, algorithm="EdDSA")
    foreign = jwt.encode({**base, "aud": "other", "exp": now + 60}, private, algorithm="EdDSA")
    unsigned = jwt.encode({**base, "exp": now + 60}, None, algorithm="none")
    for token in (expired, foreign, unsigned):
        with pytest.raises(ProblemError) as caught:
            verifier.verify(token)
        assert caught.value.status == 401
    good = jwt.encode({**base, "exp": now + 60}, private, algorithm="EdDSA")
    assert verifier.verify(good).client_id == "c"
