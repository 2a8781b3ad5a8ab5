"""The merged OpenAPI document: the gateway's own operations plus every service's."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from typing import Any

from gateway.proxy import _UNLIMITED_PATHS as UNLIMITED_PATHS
from shared.errors import problem_declaration
from shared.http import Upstream
from shared.openapi import operations

log = logging.getLogger("yibao.gateway.openapi")


_SCHEMAS = "#/components/schemas/"


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_SCHEMAS):
                name = value.removeprefix(_SCHEMAS)
                out[key] = _SCHEMAS + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def merge(base: dict[str, Any], documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merges service documents into ``base``, the gateway's own.

    A service's paths under its prefix are taken (its ``/healthz`` is not reachable through the
    gateway, whose own answers there). A schema name two services define differently is
    prefixed, title included, with the service's name in that service's part, so no definition
    is lost and generated clients get one class per name; so is an operation id twice used.
    Then every operation gets what the gateway itself may answer (:func:`add_gateway_answers`).
    """
    merged = copy.deepcopy(base)
    paths = merged.setdefault("paths", {})
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    tags = {t["name"]: t for t in merged.get("tags", [])}
    own_operations = {id(op) for _, _, op in operations(merged)}
    operation_ids = {op.get("operationId") for _, _, op in operations(merged)}
    for name, doc in documents.items():
        their_schemas = doc.get("components", {}).get("schemas", {})
        renames = _renames(name, their_schemas, schemas)
        for schema_name, schema in their_schemas.items():
            renamed = _rewrite_refs(schema, renames)
            if schema_name in renames:
                renamed["title"] = renames[schema_name]
            schemas[renames.get(schema_name, schema_name)] = renamed
        for path, item in doc.get("paths", {}).items():
            if not path.startswith(f"/{name}/"):
                continue
            item = _rewrite_refs(item, renames)
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    if operation["operationId"] in operation_ids:
                        operation["operationId"] = f"{name}_{operation['operationId']}"
                    operation_ids.add(operation["operationId"])
                    operation.setdefault("tags", [name])
            paths[path] = item
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)
        for scheme_name, scheme in doc.get("components", {}).get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {})[scheme_name] = scheme
    if tags:
        merged["tags"] = list(tags.values())
    add_gateway_answers(merged, own_operations)
    return merged


_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests the client may make in the current window",
    "RateLimit-Remaining": "Requests left in the current window",
    "RateLimit-Reset": "Seconds until the window resets",
}


def _integer_header(description: str, required: bool = False) -> dict[str, Any]:
    return {
        "description": description,
        "required": required,
        "schema": {"type": "integer", "minimum": 0},
    }


def add_gateway_answers(document: dict[str, Any], own: set[int]) -> None:
    """What the gateway answers on an operation, before or instead of its service: a token
    that does not verify, wherever one is sent (401); a rate limit (429, with Retry-After) and
    oversized headers (431) on every rate-limited operation, with the RateLimit-* headers on
    its successes; on a forwarded one also an oversized body (413) and a service down or slow
    (503, 504); on its own, a database down (503)."""
    for path, _, operation in operations(document):
        responses = operation.setdefault("responses", {})
        responses.setdefault("401", problem_declaration(401))
        if path in UNLIMITED_PATHS:
            continue
        statuses = [429, 431, 503] if id(operation) in own else [413, 429, 431, 503, 504]
        for status in statuses:
            responses.setdefault(str(status), problem_declaration(status))
        responses["429"]["headers"] = {
            "Retry-After": _integer_header("Seconds to wait before retrying", required=True)
        }
        for status, response in responses.items():
            if status.startswith("2"):
                headers = response.setdefault("headers", {})
                for name, description in _RATE_LIMIT_HEADERS.items():
                    headers.setdefault(name, _integer_header(description))


def _renames(service: str, theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, str]:
    """Names to give a service's schemas so none overwrites a different one already merged.

    Repeated until stable: renaming ``Y`` changes every schema that refers to ``Y``, which may
    then differ from the merged schema of the same name and need renaming too.
    """
    renames: dict[str, str] = {}
    while True:
        changed = False
        for schema_name, schema in theirs.items():
            if schema_name in renames or schema_name not in ours:
                continue
            rewritten = _rewrite_refs(schema, renames)
            if _canonical(rewritten) != _canonical(ours[schema_name]):
                renames[schema_name] = f"{service.capitalize()}{schema_name}"
                changed = True
        if not changed:
            return renames


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)


class MergedOpenAPI:
    """Fetches the services' documents, keeping the last good copy of each for ``ttl`` seconds,
    so a service that is down still appears with its last known paths."""

    def __init__(self, clients: dict[str, Upstream], ttl: float = 30.0) -> None:
        self.clients = clients
        self.ttl = ttl
        self._docs: dict[str, tuple[float, dict[str, Any]]] = {}

    async def _fetch(self, name: str, client: Upstream) -> None:
        cached = self._docs.get(name)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return
        try:
            response = await client.get("/openapi.json")
            if response.status_code != 200:
                raise ValueError(f"answered {response.status_code}")
            self._docs[name] = (time.monotonic(), response.json())
        except Exception as exc:  # a missing service must not break the whole document
            log.warning("could not fetch the openapi document of %s: %s", name, exc)

    async def document(self, base: dict[str, Any]) -> dict[str, Any]:
        await asyncio.gather(*(self._fetch(n, c) for n, c in self.clients.items()))
        docs = {name: doc for name, (_, doc) in self._docs.items()}
        merged = merge(base, docs)
        missing = sorted(set(self.clients) - set(docs))
        if missing:
            merged.setdefault("info", {})["x-unavailable-services"] = missing
        return merged
