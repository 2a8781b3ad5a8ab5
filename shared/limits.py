"""What a request body may be: its size, and how deeply its JSON nests.

Every service refuses an oversized body (413) and absurdly nested JSON (422) itself, whether or
not a gateway in front of it checks the same (:class:`BodyLimits`); the gateway applies the same
rules before forwarding (:func:`check_body`).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PayloadTooLarge, ProblemError, Unprocessable

MAX_JSON_DEPTH = 32
"""Deeper than any document of the API (a settlement's items are three levels down)."""

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body``, read as JSON, nests arrays and objects deeper than ``limit``.

    Bodies with no more brackets than ``limit`` (nearly all) are let through after two counts;
    the others are reduced to their brackets outside strings, then innermost pairs are peeled,
    one level per pass, all in C: a crafted body cannot make this slow. Brackets that do not
    match count as too deep (the parser would refuse such a body anyway).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(peeled) == len(brackets):
            return True  # unbalanced: no pair left to peel
        brackets = peeled
    return bool(brackets)


def check_body(body: bytes, content_type: str | None, max_bytes: int) -> None:
    """Raises 413 for a body over ``max_bytes``, 422 for JSON nested deeper than allowed."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"request bodies are limited to {max_bytes} bytes")
    if content_type is not None and "json" in content_type and json_depth_exceeds(body):
        raise Unprocessable(
            f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels, or its brackets do not "
            "match",
            field="body",
        )


def _headers_of(scope: Scope) -> tuple[int | None, str | None, bool]:
    length: int | None = None
    content_type: str | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"content-type":
            content_type = value.decode("latin-1").lower()
        elif name == b"transfer-encoding":
            chunked = True
    return length, content_type, chunked


class BodyLimits:
    """Pure ASGI: reads a request's body before the app does and refuses it when it breaks
    :func:`check_body`; the app then reads the same body. Requests without a body pass as
    they are."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length, content_type, chunked = _headers_of(scope)
        if not chunked and not length:
            await self.app(scope, receive, send)
            return
        try:
            if length is not None and length > self.max_bytes:
                raise PayloadTooLarge(f"request bodies are limited to {self.max_bytes} bytes")
            body = await read_body(receive, self.max_bytes)
            if body is None:
                return  # the client went away
            check_body(body, content_type, self.max_bytes)
        except ProblemError as exc:
            await exc.to_response()(scope, receive, send)
            return
        replayed = False

        async def receive_again() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, receive_again, send)


async def read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body, None if the client disconnected first; 413 once it passes
    ``max_bytes``, without reading the rest."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body.extend(message.get("body", b""))
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"request bodies are limited to {max_bytes} bytes")
        if not message.get("more_body"):
            return bytes(body)
