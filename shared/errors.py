"""RFC 9457 problem details for every error path.

Domain code raises :class:`ProblemError` subclasses; the handlers installed by
:func:`install_error_handlers` turn them, validation errors, unknown routes and unexpected
exceptions into ``application/problem+json``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import asyncpg
import orjson
from asyncpg.exceptions import InternalClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.context import request_id_var
from shared.schemas import TEXT_PATTERN

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://yibao.example/problems/"
log = logging.getLogger("yibao.errors")


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="Where: body.items.0.unit_price, query.cursor, path.person_id")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document, the body of every error. Extension members may follow."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": f"{TYPE_BASE}validation",
                    "title": "Validation failed",
                    "status": 422,
                    "detail": "invalid input: body.person_id",
                    "request_id": "3f2a9c0e1b7d4e5f",
                    "errors": [
                        {
                            "field": "body.person_id",
                            "message": "Input should be a valid integer",
                        }
                    ],
                }
            ]
        }
    )

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int = Field(ge=100, le=599, description="The HTTP status, repeated")
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = Field(None, description="The X-Request-ID of the request")
    errors: list[FieldError] | None = Field(None, description="Validation: each invalid field")


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or f"{TYPE_BASE}{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


class ProblemError(Exception):
    """A domain error with its HTTP meaning. Subclasses set ``status`` and ``title``."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def to_response(self) -> JSONResponse:
        slug = self.slug or self.title.lower().replace(" ", "-")
        return problem_response(
            self.status,
            self.title,
            self.detail,
            type_=f"{TYPE_BASE}{slug}",
            errors=self.errors,
            headers=self.headers,
            extra=self.extra,
        )


class BadRequest(ProblemError):
    status = 400
    title = "Bad request"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="yibao"'})


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"


class NotFound(ProblemError):
    status = 404
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"


class Unprocessable(ProblemError):
    """Well-formed input that breaks a rule (e.g. a visit needing an approval it lacks)."""

    status = 422
    title = "Unprocessable"

    def __init__(self, detail: str, *, field: str | None = None, **kwargs: Any) -> None:
        if field is not None and "errors" not in kwargs:
            kwargs["errors"] = [{"field": field, "message": detail}]
        super().__init__(detail, **kwargs)


def refused_upstream(
    service: str, status: int, content: bytes, fields: Mapping[str, str]
) -> Unprocessable:
    """A 400 or 422 another service answered to a call made of the caller's input, as this
    service's 422: the caller's input is what was refused (a 503 would tell the caller to retry
    what can never succeed). ``fields`` names, for each field of the other service's request,
    the caller's field it came from; the other service's messages are kept."""
    try:
        problem = orjson.loads(content)
        upstream = [e for e in problem.get("errors") or () if isinstance(e, dict)]
    except (orjson.JSONDecodeError, AttributeError):
        upstream = []
    errors = [
        {"field": fields[str(e.get("field"))], "message": str(e.get("message", "invalid"))}
        for e in upstream
        if str(e.get("field")) in fields
    ] or [{"field": field, "message": f"refused by {service}"} for field in fields.values()]
    return Unprocessable(
        f"{service} refused the request made of this input ({status})",
        errors=list({e["field"]: e for e in errors}.values()),
    )


class PayloadTooLarge(ProblemError):
    status = 413
    title = "Payload too large"


class TooManyRequests(ProblemError):
    status = 429
    title = "Too many requests"


class UpstreamUnavailable(ProblemError):
    """A service this one depends on is down, failing or its circuit is open."""

    status = 503
    title = "Service unavailable"


class UpstreamTimeout(ProblemError):
    status = 504
    title = "Upstream timeout"


class DeadlineExceeded(ProblemError):
    """Out of time (the request's deadline, :mod:`shared.deadline`) before anything was
    recorded: the caller retries, with the same Idempotency-Key."""

    status = 504
    title = "Deadline exceeded"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or "the request ran out of time and nothing was recorded; retry it (with the same "
            "Idempotency-Key)"
        )


def field_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


_MESSAGES = {
    # pydantic's wording for the two things PostgreSQL cannot store in text.
    "string_unicode": "must be Unicode text (a lone surrogate is not)",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == TEXT_PATTERN:
        return "text may not contain a NUL character"
    # pydantic prefixes messages of custom validators; the field already says where.
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [{"field": field_path(e.get("loc", ())), "message": _message(e)} for e in exc.errors()]


async def _problem_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return exc.to_response()


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    fields = ", ".join(e["field"] for e in errors)
    return problem_response(
        422,
        "Validation failed",
        f"invalid input: {fields}",
        type_=f"{TYPE_BASE}validation",
        errors=errors,
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
}


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, title, detail, headers=exc.headers)


def _sqlstate(exc: DBAPIError) -> str:
    orig = exc.orig
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


_TIMED_OUT_STATES = ("57014", "55P03", "YB504")
"""A statement cancelled (its own or the request's time out), a lock not had in time, and
``settle()``'s refusal to commit past the request's deadline."""


def _database_unavailable(cause: str) -> JSONResponse:
    log.warning("database unavailable: %s", cause)
    return problem_response(
        503, "Service unavailable", "the database is unavailable", headers={"Retry-After": "1"}
    )


def _out_of_time() -> JSONResponse:
    return DeadlineExceeded().to_response()


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Database failures by SQLSTATE class, through SQLAlchemy or asyncpg alike: a constraint is
    a conflict, a bad value is the client's, a lost or refused connection is a 503 and a
    statement out of time a 504 (the client may retry both: nothing was recorded); the rest
    are bugs."""
    if isinstance(exc, DBAPIError | asyncpg.PostgresError):
        state = _sqlstate(exc) if isinstance(exc, DBAPIError) else str(exc.sqlstate or "")
        if state.startswith("23"):
            return problem_response(409, "Conflict", "conflicts with existing data")
        if state.startswith("22"):
            return problem_response(
                422, "Unprocessable", "a value is out of range or of the wrong type"
            )
        if state in _TIMED_OUT_STATES:
            return _out_of_time()
        invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
        if invalidated or state.startswith(("08", "53", "57P")):
            return _database_unavailable(type(getattr(exc, "orig", None) or exc).__name__)
    elif isinstance(exc, TimeoutError):
        return _out_of_time()
    elif isinstance(exc, SQLAlchemyTimeoutError | ConnectionError):
        return _database_unavailable(type(exc).__name__)
    elif isinstance(exc, asyncpg.InterfaceError | InternalClientError):
        # asyncpg's own state, not the server's: what a connection the server lost in the
        # middle of an exchange answers (shared.db.HotConnection drops such connections).
        return _database_unavailable(f"{type(exc).__name__}: {exc}")
    return await _unexpected_error(request, exc)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal error", "an unexpected error occurred; it is logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for database_error in (
        DBAPIError,
        SQLAlchemyTimeoutError,
        ConnectionError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        InternalClientError,
    ):
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


def problem_content() -> dict[str, Any]:
    """The ``content`` of an error response in the OpenAPI document."""
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


DESCRIPTIONS = {
    400: "Malformed request: the body is not UTF-8 JSON",
    401: "Missing or invalid token (a token is checked wherever one is sent)",
    403: "The token's client may not do this",
    404: "No such object, or not visible to this client",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    422: "Invalid input; `errors` names each field",
    429: "Rate limit exceeded; retry after the seconds in Retry-After",
    431: "The request's headers are too large",
    503: "This service, or one it calls, is unavailable; nothing was recorded: retry later",
    504: "This service, or one it calls, did not answer in time; retry (with the same "
    "Idempotency-Key where one is required)",
}


def problem_declaration(status: int) -> dict[str, Any]:
    """One error response of an operation, as the OpenAPI document declares it."""
    return {"description": DESCRIPTIONS.get(status, "Error"), "content": problem_content()}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries declaring each error a route may answer, beyond those every route
    of its shape answers (:mod:`shared.openapi` adds those: 400/413/422 for a body, 422 for
    parameters, 401 for a token)."""
    return {status: problem_declaration(status) for status in statuses}
