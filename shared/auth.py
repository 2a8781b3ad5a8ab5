"""Tokens and principals.

The gateway issues Ed25519-signed JWTs at ``/auth/token``; every service verifies them itself
with the public key, so a request that bypasses the gateway is checked all the same. The kinds
and what each is bound to follow API.md's table.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized
from shared.revocation import Revocations
from shared.schemas import Choice
from shared.settings import Settings

ALGORITHM = "EdDSA"
REVOCATIONS_AUDIENCE = "yibao-revocations"
"""The audience of the signed revocation list: never an access token's, so neither passes for
the other."""
REVOCATIONS_LIFETIME_SECONDS = 120
"""How long a signed revocation list is taken: a copy replayed later (one that still listed a
client enabled since, or predates a disable) is refused."""


class ClientKind(Choice):
    admin = "admin"
    app = "app"
    institution = "institution"
    pharmacy = "pharmacy"
    station = "station"
    childcare_operator = "childcare_operator"
    childcare_reviewer = "childcare_reviewer"


BOUND_KINDS = {
    ClientKind.institution,
    ClientKind.pharmacy,
    ClientKind.station,
    ClientKind.childcare_operator,
    ClientKind.childcare_reviewer,
}
"""Kinds whose client is bound to a code (H code, P code, station, institution, region)."""

STAFF_KINDS = frozenset({ClientKind.admin, ClientKind.station})
"""Bureau staff and service stations: they handle business on anyone's behalf."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the client, its kind and what it is bound to."""

    client_id: str
    kind: ClientKind
    bound: str | None = None
    person_id: int | None = None
    """For ``app`` tokens: the one person the token acts for."""

    @property
    def is_admin(self) -> bool:
        return self.kind is ClientKind.admin

    def acts_for_person(self, person_id: int) -> bool:
        return self.kind is ClientKind.app and self.person_id == person_id


# --- keys ------------------------------------------------------------------------------------


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Development keys, made once and kept under the data folder (never in production).

    Both files are written to temporary names and renamed, public key first, so a crash never
    leaves a private key without its public key, and the private key is never readable by others.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "jwt-private.pem", directory / "jwt-public.pem"
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    key = Ed25519PrivateKey.generate()
    pem_private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem_public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path, data, mode in ((public_path, pem_public, 0o644), (private_path, pem_private, 0o600)):
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    return private_path, public_path


def _read_key(inline: str | None, path: Path | None, what: str) -> str:
    if inline:
        return inline
    if path is not None:
        return path.read_text()
    raise RuntimeError(f"no JWT {what} key configured (YIBAO_JWT_{what.upper()}_KEY[_FILE])")


class TokenSigner:
    def __init__(self, settings: Settings) -> None:
        self._key = _read_key(settings.jwt_private_key, settings.jwt_private_key_file, "private")
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.lifetime = settings.token_lifetime_seconds

    def issue(self, principal: Principal) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": principal.client_id,
            "kind": principal.kind.value,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        if principal.bound is not None:
            claims["bound"] = principal.bound
        if principal.person_id is not None:
            claims["person_id"] = principal.person_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def sign_revocations(self, client_ids: Iterable[str]) -> str:
        """The disabled clients as the services read them (see :mod:`shared.revocation`)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": REVOCATIONS_AUDIENCE,
            "iat": now,
            "exp": now + REVOCATIONS_LIFETIME_SECONDS,
            "revoked": sorted(client_ids),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies tokens, remembering recent good ones (verification is the per-request cost),
    and refuses those of disabled clients (:mod:`shared.revocation`)."""

    def __init__(
        self, settings: Settings, revocations: Revocations | None = None, cache_size: int = 4096
    ) -> None:
        key = _read_key(settings.jwt_public_key, settings.jwt_public_key_file, "public")
        public = serialization.load_pem_public_key(key.encode())
        if not isinstance(public, Ed25519PublicKey):
            # Checked at start-up: a wrong key type would otherwise fail every request.
            raise RuntimeError("the JWT public key must be an Ed25519 key")
        self._key = public
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.revocations = revocations or Revocations()
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._cache_size = cache_size

    def knows(self, token: str) -> bool:
        """Whether ``token`` verified before: checking it again costs no signature."""
        return token in self._cache

    def verify(self, token: str) -> Principal:
        principal = self._verified(token)
        if principal.client_id in self.revocations:
            raise Unauthorized("this client has been disabled")
        return principal

    def _verified(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            expires, principal = cached
            if expires > time.time():
                return principal
            self._cache.pop(token, None)
            raise Unauthorized("the token has expired")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "kind"]},
            )
            principal = Principal(
                client_id=str(claims["sub"]),
                kind=ClientKind(claims["kind"]),
                bound=claims.get("bound"),
                person_id=claims.get("person_id"),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except (jwt.InvalidTokenError, ValueError, KeyError):
            raise Unauthorized("the token is not valid") from None
        self._cache[token] = (float(claims["exp"]), principal)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def read_revocations(self, document: str) -> frozenset[str]:
        """The client IDs of a list signed by :meth:`TokenSigner.sign_revocations`; ValueError
        for anything else (another key, an old copy, another audience, another shape)."""
        try:
            claims = jwt.decode(
                document,
                self._key,
                algorithms=[ALGORITHM],
                audience=REVOCATIONS_AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "iat"]},
            )
        except jwt.InvalidTokenError as exc:
            raise ValueError(f"the revocation list is not the gateway's: {exc}") from None
        revoked = claims.get("revoked")
        if not isinstance(revoked, list) or not all(isinstance(c, str) for c in revoked):
            raise ValueError("the revocation list has no list of client IDs")
        return frozenset(revoked)


# --- dependencies ----------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/token")


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier


def bearer_token(header: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; 401 for any other shape.

    The one parser of the header: the gateway and every service's dependencies use it.
    """
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token


async def bearer_principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    # The bearer scheme is a parameter only so the OpenAPI document shows it.
    header = request.headers.get("authorization")
    if header is None:
        return None
    return _verifier(request).verify(bearer_token(header))


async def authenticated(
    principal: Annotated[Principal | None, Depends(bearer_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("this call needs a token")
    return principal


def authorize(request: Request, allowed: frozenset[ClientKind]) -> Principal:
    """The request's principal if its kind is allowed (admins always are), else 401/403.

    A plain function so a hot route that reads its request by hand can call it directly.
    """
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("this call needs a token")
    principal = _verifier(request).verify(bearer_token(header))
    if principal.kind not in allowed and not principal.is_admin:
        raise Forbidden(f"this call is for {kinds_named(allowed)} clients")
    return principal


def require_kinds(*kinds: ClientKind) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting these kinds (and admins).

    Flat and async on purpose: it sits on every hot read (eligibility, settlement), where each
    extra level of dependency solving, or a worker-thread hop for a plain ``def``, showed in
    the benchmarks. The bearer scheme is a parameter only so the OpenAPI document shows it.
    """
    allowed = frozenset(kinds)

    async def check(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return authorize(request, allowed)

    return check


def kinds_named(kinds: Iterable[ClientKind]) -> str:
    return ", ".join(sorted(k.value for k in kinds))


OptionalPrincipal = Annotated[Principal | None, Depends(bearer_principal)]
AnyPrincipal = Annotated[Principal, Depends(authenticated)]
Admin = Annotated[Principal, Depends(require_kinds(ClientKind.admin))]
Staff = Annotated[Principal, Depends(require_kinds(*STAFF_KINDS))]
