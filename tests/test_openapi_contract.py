"""What partners' generated clients rely on: every operation summarised, errors declared."""

import pytest

from shared.topology import SERVICES

HEALTH = {"/healthz", "/readyz"}


@pytest.mark.parametrize("name", [s.name for s in SERVICES])
def test_every_operation_has_a_summary_an_id_and_declared_errors(service_apps, name):
    document = service_apps[name].openapi()
    assert document["openapi"].startswith("3.1")
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if path not in HEALTH
    ]
    assert operations, f"{name} has no operations"
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), f"{where}: no summary"
        assert op.get("operationId"), f"{where}: no operationId"
        errors = [code for code in op["responses"] if code.startswith(("4", "5"))]
        if op.get("parameters") or op.get("requestBody") or op.get("security"):
            assert errors, f"{where}: no error response declared"
        for code in errors:
            content = op["responses"][code].get("content", {})
            schema = next(iter(content.values()), {}).get("schema", {})
            assert schema.get("$ref", "").endswith("/Problem"), f"{where} {code}: not a Problem"
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)), f"{name}: duplicate operationIds"


def test_problem_schema_is_shared_by_all_services(service_apps):
    shapes = {
        name: app.openapi()["components"]["schemas"]["Problem"]
        for name, app in service_apps.items()
    }
    first = next(iter(shapes.values()))
    assert all(shape == first for shape in shapes.values())
