"""API clients: registration and client-credentials authentication."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ApiClient
from shared.auth import BOUND_KINDS, ClientKind, Principal
from shared.errors import NotFound, ProblemError, Unprocessable

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}

CLIENT_ID_PATTERN = r"^[a-z][a-z-]{1,30}-[0-9a-f]{12}$"
"""The ids :func:`create_client` makes: the kind, a dash, 12 hex digits."""


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt_b64), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


_UNKNOWN_CLIENT_HASH = hash_secret(secrets.token_urlsafe(32))


@dataclass(frozen=True, slots=True)
class NewClient:
    client_id: str
    client_secret: str
    kind: ClientKind
    bound: str | None
    name: str


async def create_client(
    session: AsyncSession, kind: ClientKind, bound: str | None = None, name: str | None = None
) -> NewClient:
    if kind in BOUND_KINDS and not bound:
        raise Unprocessable(f"a {kind.value} client must be bound to a code", field="bind")
    if kind not in BOUND_KINDS and bound:
        raise Unprocessable(f"a {kind.value} client is not bound to a code", field="bind")
    client_id = f"{kind.value.replace('_', '-')}-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(hash_secret, secret)
    session.add(
        ApiClient(
            client_id=client_id,
            secret_hash=secret_hash,
            kind=kind.value,
            bound=bound,
            name=name or client_id,
        )
    )
    await session.flush()
    return NewClient(client_id, secret, kind, bound, name or client_id)


class InvalidClient(ProblemError):
    status = 401
    title = "Invalid client"
    slug = "invalid-client"

    def __init__(self) -> None:
        super().__init__("unknown client or wrong secret", extra={"error": "invalid_client"})


async def authenticate(
    session: AsyncSession, client_id: str, client_secret: str, person_id: int | None
) -> Principal:
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    # One scrypt, off the event loop, known client or not: timing does not tell which exist.
    stored = client.secret_hash if client else _UNKNOWN_CLIENT_HASH
    ok = await asyncio.to_thread(verify_secret, client_secret, stored)
    if client is None or not ok or client.disabled_at is not None:
        raise InvalidClient()
    kind = ClientKind(client.kind)
    if kind is ClientKind.app and person_id is None:
        raise Unprocessable("an app token acts for one person: give person_id", field="person_id")
    if kind is not ClientKind.app and person_id is not None:
        raise Unprocessable("only app clients act for a person", field="person_id")
    return Principal(client_id=client.client_id, kind=kind, bound=client.bound, person_id=person_id)


def token_scope(principal: Principal) -> str:
    """The OAuth2 ``scope`` answered with a token: the kind, its binding, the person."""
    scope = principal.kind.value + (f":{principal.bound}" if principal.bound else "")
    if principal.person_id is not None:
        scope += f" person:{principal.person_id}"
    return scope


async def list_clients(session: AsyncSession, after: str | None, limit: int) -> list[ApiClient]:
    query = select(ApiClient).order_by(ApiClient.client_id).limit(limit)
    if after is not None:
        query = query.where(ApiClient.client_id > after)
    return list(await session.scalars(query))


async def _client_for_update(session: AsyncSession, client_id: str) -> ApiClient:
    client = await session.scalar(
        select(ApiClient).where(ApiClient.client_id == client_id).with_for_update()
    )
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


async def disable_client(session: AsyncSession, client_id: str) -> ApiClient:
    """Idempotent: a client disabled twice keeps the time it was first disabled."""
    client = await _client_for_update(session, client_id)
    if client.disabled_at is None:
        client.disabled_at = await session.scalar(select(func.now()))
    return client


async def enable_client(session: AsyncSession, client_id: str) -> ApiClient:
    """Idempotent: the client may get tokens again, and its unexpired ones are accepted."""
    client = await _client_for_update(session, client_id)
    client.disabled_at = None
    return client
