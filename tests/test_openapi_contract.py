"""What partners' generated clients and fuzzers rely on (API.md "What the document promises"):
the merged document as the gateway serves it, built here from the apps in-process."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from gateway.app import create_app, fastapi_of
from gateway.openapi import merge
from shared.errors import PROBLEM_MEDIA_TYPE
from shared.openapi import operations
from shared.topology import SERVICES

OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NOT_PLAIN = re.compile(r":[a-z]+:`|``|\b(shared|services|gateway)\.[a-z_]+")
GATEWAY_OWN = ("/auth/", "/healthz", "/readyz")


@pytest.fixture(scope="module")
def document(service_apps, settings_for) -> dict[str, Any]:
    base = fastapi_of(create_app(settings_for("gateway"))).openapi()
    return merge(base, {name: app.openapi() for name, app in service_apps.items()})


def _ops(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return operations(document)


def test_every_service_operation_is_in_the_merged_document(document, service_apps):
    assert document["openapi"].startswith("3.1")
    merged = {(path, method) for path, method, _ in _ops(document)}
    for spec in SERVICES:
        own = {
            (path, method)
            for path, method, _ in operations(service_apps[spec.name].openapi())
            if path.startswith(f"/{spec.name}/")
        }
        assert own and own <= merged, spec.name
    assert ("/childcare/v1/institutions", "post") in merged
    assert ("/auth/clients/{client_id}/enable", "post") in merged


def test_operation_ids_are_short_unique_and_stable(document):
    ids = [op["operationId"] for _, _, op in _ops(document)]
    assert not [i for i, n in Counter(ids).items() if n > 1]
    assert all(OPERATION_ID.fullmatch(i) and len(i) <= 32 for i in ids), ids
    assert sum(map(len, ids)) / len(ids) < 20
    # Named in the code, not derived from paths: these are the contract's own examples.
    assert {"settlements_create", "persons_get", "eligibility_get"} <= set(ids)


def test_summaries_tags_descriptions_and_a_server(document):
    declared = [tag["name"] for tag in document["tags"]]
    assert len(declared) == len(set(declared))
    assert all(tag.get("description") for tag in document["tags"])
    for path, method, op in _ops(document):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert op.get("tags") and set(op["tags"]) <= set(declared), where
    # Medical institutions (stations) and childcare institutions apart.
    assert {"medical institutions", "childcare institutions"} <= set(declared)
    assert "institutions" not in declared
    for where, text in _descriptions(document):
        assert not NOT_PLAIN.search(text), f"{where}: {text[:80]}"
    assert document["servers"] and document["servers"][0]["url"]


def _descriptions(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield where, value
            else:
                yield from _descriptions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value, where)


def test_schema_titles_are_unique(document):
    titles = [
        schema.get("title", name) for name, schema in document["components"]["schemas"].items()
    ]
    assert not [t for t, n in Counter(titles).items() if n > 1]


def test_every_error_is_problem_json_and_every_status_the_gateway_sends_is_declared(document):
    for path, method, op in _ops(document):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], f"{where} {status}"
                schema = response["content"][PROBLEM_MEDIA_TYPE]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, f"{where} {status}"
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in responses, where
        if op.get("requestBody"):
            assert {"400", "413"} <= set(responses), where
        if op.get("security"):
            assert "401" in responses, where
        if path == "/healthz":
            continue
        gateway = {"429", "431", "503"} | (
            set() if path.startswith(GATEWAY_OWN) else {"413", "504"}
        )
        assert gateway <= set(responses), where
        assert responses["429"]["headers"]["Retry-After"]["required"] is True, where
        for status, response in responses.items():
            if status.startswith("2"):
                assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
                    response["headers"]
                ), f"{where} {status}"


def test_every_request_body_and_response_model_has_an_example(document):
    schemas = document["components"]["schemas"]

    def model(schema: dict[str, Any]) -> str | None:
        ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
        return ref.rsplit("/", 1)[1] if ref else None

    missing = set()
    for path, method, op in _ops(document):
        bodies = [m for m in op.get("requestBody", {}).get("content", {}).values()]
        for status, response in op["responses"].items():
            if status.startswith("2"):
                bodies += [m for m in response.get("content", {}).values()]
        for media in bodies:
            name = model(media.get("schema", {}))
            if name is not None and not schemas[name].get("examples"):
                missing.add(name)
            if name is None and media.get("schema", {}).get("format") != "binary":
                missing.add(f"{method.upper()} {path}: not a model")
    assert not missing, sorted(missing)


def _schema_nodes(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object of a schema, itself included."""
    if not isinstance(node, dict):
        return
    yield where, node
    for key in ("properties", "$defs"):
        for name, sub in node.get(key, {}).items():
            yield from _schema_nodes(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties", "propertyNames", "not"):
        yield from _schema_nodes(node.get(key), f"{where}[{key}]")
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            yield from _schema_nodes(sub, where)


def _all_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, schema in document["components"]["schemas"].items():
        yield from _schema_nodes(schema, name)
    for path, method, op in _ops(document):
        where = f"{method.upper()} {path}"
        for parameter in op.get("parameters", []):
            yield from _schema_nodes(parameter["schema"], f"{where} {parameter['name']}")
        for status, response in op["responses"].items():
            for name, header in response.get("headers", {}).items():
                yield from _schema_nodes(header["schema"], f"{where} {status} {name}")


def test_every_example_validates_against_its_own_schema(document):
    components = document["components"]
    checked = 0
    for where, node in _all_schemas(document):
        examples = node.get("examples", []) + ([node["example"]] if "example" in node else [])
        if not examples:
            continue
        schema = {k: v for k, v in node.items() if k not in ("examples", "example")}
        validator = Draft202012Validator(
            {**schema, "components": components}, format_checker=FormatChecker()
        )
        for example in examples:
            errors = [e.message for e in validator.iter_errors(example)]
            assert not errors, f"{where}: {errors}"
            checked += 1
    assert checked > 150


def _request_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The schema objects of what a client sends: parameters and request bodies, refs followed."""
    schemas = document["components"]["schemas"]
    seen: set[str] = set()

    def follow(node: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for at, sub in _schema_nodes(node, where):
            ref = sub.get("$ref", "").rsplit("/", 1)[-1]
            if ref and ref not in seen:
                seen.add(ref)
                yield from follow(schemas[ref], ref)
            yield at, sub

    for path, method, op in _ops(document):
        where = f"{method.upper()} {path}"
        for parameter in op.get("parameters", []):
            yield from follow(parameter["schema"], f"{where} {parameter['in']}.{parameter['name']}")
        for media in op.get("requestBody", {}).get("content", {}).values():
            yield from follow(media["schema"], f"{where} body")


def test_every_input_states_its_range(document):
    """Text states what it admits (at least: no NUL), numbers their bounds (ids are bigints)."""
    loose = []
    for where, node in _request_schemas(document):
        kind = node.get("type")
        if kind == "string" and not {"pattern", "enum", "format", "const"} & set(node):
            loose.append(f"{where}: text without a pattern")
        if kind in ("integer", "number") and not (
            {"minimum", "exclusiveMinimum"} & set(node)
            and {"maximum", "exclusiveMaximum"} & set(node)
        ):
            loose.append(f"{where}: a number without bounds")
        if kind == "integer" and (
            node.get("maximum", 0) > 2**63 - 1 or node.get("exclusiveMaximum", 0) > 2**63
        ):
            loose.append(f"{where}: beyond a bigint")
    assert not loose, loose
