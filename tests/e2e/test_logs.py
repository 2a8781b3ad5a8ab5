"""The check run over every end-to-end run's logs (tests/e2e/conftest.py, when the processes
stop) finds each kind of leak, and passes clean lines: masked ID numbers, request IDs, paths."""

import json

from tests.e2e.conftest import leaked

CLEAN = [
    {"msg": "GET /enrollment/v1/persons/371602********0013 404", "request_id": "e2e-1764630001"},
    {"msg": "request", "request_id": "3f0c2a9d8e7b46a1b2c3d4e5f6a7b8c9", "duration_ms": 1.25},
    {"msg": "person 1234567890123456 of 12345678901234567890 rows"},  # 16 and 20 digits
]
LEAKS = {
    "id number": {"msg": "looked up 37160219800101001X"},
    "id number in an extra": {"msg": "x", "person": {"id": "371602198001010013"}},
    "token": {"msg": "Authorization: Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln"},
    "secret": {"msg": "form client_secret=Zm9vYmFyYmF6cXV4cXV1eHF1dXo"},
}


def test_the_check_finds_each_kind_of_leak_and_only_those(tmp_path):
    logs = tmp_path / "logs"
    (logs / "strict").mkdir(parents=True)
    (logs / "gateway.log").write_text("\n".join(json.dumps(line) for line in CLEAN) + "\n")
    secrets = {"Zm9vYmFyYmF6cXV4cXV1eHF1dXo"}
    assert leaked(logs, secrets) == []
    for kind, line in LEAKS.items():
        (logs / "strict" / "gateway.log").write_text(json.dumps(line) + "\n")
        found = leaked(logs, secrets)
        assert [name for name, _ in found] == ["gateway.log"], kind
