"""Inputs the hottest routes read by hand, each parsed and declared from one pydantic model.

On the settlement path (settle, preview, eligibility) FastAPI's dependency solving cost more
than the work itself (see :mod:`shared.fastlane`), so those endpoints take only the ``Request``
and read their parameters and body here. Each input is a pydantic model: it parses the request
(rust-side, a JSON body straight from its bytes) and it is also what the OpenAPI document
declares, through :func:`declared`, so the document and the parsing cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Literal, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

Location = Literal["path", "query", "header"]


def _refused(location: str, exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": (location, *e["loc"])} for e in exc.errors()])


class Params(Generic[M]):
    """The parameters of one location (path, query or header), as the fields of ``model``.

    The values arrive as strings: ``model`` is a lax model whose field types carry the ranges
    (``shared.schemas.Id``, ``Day``), so "12" is the id 12 and "１２" or "1e3" are refused.
    A field's alias is the parameter's name (a header's ``Idempotency-Key``).
    """

    def __init__(self, location: Location, model: type[M]) -> None:
        self.location = location
        self.model = model
        self.names = [field.alias or name for name, field in model.model_fields.items()]

    def read(self, request: Request) -> M:
        source: Any = {
            "path": request.path_params,
            "query": request.query_params,
            "header": request.headers,
        }[self.location]
        values = {name: source[name] for name in self.names if name in source}
        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            raise _refused(self.location, exc) from None

    def parameters(self) -> list[dict[str, Any]]:
        schema = self.model.model_json_schema(by_alias=True)
        if "$defs" in schema:
            raise ValueError(f"{self.model.__name__}: a parameter is a plain value, not a model")
        required = set(schema.get("required", ()))
        out = []
        for name in self.names:
            prop = {k: v for k, v in schema["properties"][name].items() if k != "title"}
            parameter: dict[str, Any] = {
                "name": name,
                "in": self.location,
                "required": name in required or self.location == "path",
            }
            if "description" in prop:
                parameter["description"] = prop.pop("description")
            parameter["schema"] = prop
            out.append(parameter)
        return out


class JsonBody(Generic[M]):
    """A JSON body, validated from its bytes by ``model`` (strict: ``shared.schemas``)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    async def read(self, request: Request) -> M:
        try:
            return self.model.model_validate_json(await request.body())
        except ValidationError as exc:
            raise _refused("body", exc) from None

    def request_body(self) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{self.model.__name__}"}
        return {"required": True, "content": {"application/json": {"schema": ref}}}


class HandRead(dict[str, Any]):
    """A route's ``openapi_extra`` declaring what it reads by hand; it names the body models
    the service's document must hold (:mod:`shared.openapi` adds them)."""

    def __init__(self, operation: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
        super().__init__(operation)
        self.models = tuple(models)


def declared(*inputs: Params[Any] | JsonBody[Any], bearer: bool = True) -> HandRead:
    """The OpenAPI declaration of a hand-read route's inputs (its ``openapi_extra``)."""
    operation: dict[str, Any] = {}
    if bearer:
        operation["security"] = [{"HTTPBearer": []}]
    parameters = [p for i in inputs if isinstance(i, Params) for p in i.parameters()]
    if parameters:
        operation["parameters"] = parameters
    bodies = [i for i in inputs if isinstance(i, JsonBody)]
    if len(bodies) > 1:
        raise ValueError("a request has one body")
    if bodies:
        operation["requestBody"] = bodies[0].request_body()
    return HandRead(operation, (b.model for b in bodies))
