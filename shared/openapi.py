"""A service's OpenAPI document, finished so that it tells the truth.

FastAPI writes the document from the routes; this adds what every route of a shape answers and
FastAPI does not declare (or declares as ``application/json``): a body can be malformed (400),
too large (413) or invalid (422); parameters can be invalid (422); a token can be missing or
bad (401). Each error is ``application/problem+json`` with the ``Problem`` schema. It also
holds the body models that hand-read routes declare (:mod:`shared.handread`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter

from shared.errors import Problem, problem_declaration
from shared.handread import HandRead

METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
_REF = "#/components/schemas/{model}"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def route_name(route: APIRoute) -> str:
    """The operation id of a route that names none: its endpoint's name. Every route in a
    document names its own (short, stable: ``persons_get``), checked in the tests."""
    return route.name


def add_schemas(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    ]


def shape_statuses(operation: dict[str, Any]) -> list[int]:
    """The errors an operation answers by its shape alone."""
    statuses = []
    if "requestBody" in operation:
        statuses += [400, 413, 422]
    elif operation.get("parameters"):
        statuses.append(422)
    if operation.get("security"):
        statuses.append(401)
    return statuses


def _page_example(components: dict[str, Any], schema: dict[str, Any]) -> None:
    """A page's example is one of its items' and no next page (:class:`shared.pagination.Page`)."""
    items = schema.get("properties", {}).get("items", {}).get("items", {})
    if set(schema.get("properties", ())) != {"items", "next_cursor"} or "$ref" not in items:
        return
    item = components[items["$ref"].removeprefix(_REF.format(model=""))]
    if "examples" in item and "examples" not in schema:
        schema["examples"] = [{"items": item["examples"][:1], "next_cursor": None}]


def _declared_types(app: FastAPI) -> Iterator[Any]:
    """The types of the bodies and answers the routes declare."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        if route.response_model is not None:
            yield route.response_model
        if route.body_field is not None:
            yield route.body_field.field_info.annotation
        for response in (route.responses or {}).values():
            if "model" in response:
                yield response["model"]


def _restore_examples(app: FastAPI, components: dict[str, Any]) -> None:
    """FastAPI writes its document without null values, examples' included, so an example with
    a nullable field left null came out invalid (a required field missing): its models' own."""
    for declared in _declared_types(app):
        schema = TypeAdapter(declared).json_schema(ref_template=_REF)
        named = dict(schema.pop("$defs", {}))
        if isinstance(declared, type) and issubclass(declared, BaseModel):
            named.setdefault(declared.__name__, schema)
        for name, definition in named.items():
            if "examples" in definition and name in components:
                components[name]["examples"] = definition["examples"]


def finish(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    _restore_examples(app, components)
    for name in _FASTAPI_VALIDATION:
        components.pop(name, None)
    add_schemas(components, Problem)
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and isinstance(route.openapi_extra, HandRead):
            for model in route.openapi_extra.models:
                add_schemas(components, model)
    for schema in components.values():
        _page_example(components, schema)
    for _, _, operation in operations(document):
        responses = operation.setdefault("responses", {})
        for status in shape_statuses(operation):
            responses[str(status)] = problem_declaration(status)
    return document


def install(app: FastAPI) -> None:
    """Serve the finished document at the app's ``/openapi.json``."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    # FastAPI's generate() keeps its unfinished document in app.openapi_schema: the finished one
    # is kept apart, and written once under a lock (the app writes it in a thread at start-up,
    # beside requests that may ask for it).
    written: list[dict[str, Any]] = []
    lock = threading.Lock()

    def openapi() -> dict[str, Any]:
        if not written:
            with lock:
                if not written:
                    written.append(finish(app, generate()))
                    app.openapi_schema = written[0]
        return written[0]

    app.openapi = openapi  # type: ignore[method-assign]
