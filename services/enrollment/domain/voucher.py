"""Electronic voucher codes (医保码): short-lived, HMAC-signed, compact enough for a small QR code.

Layout, before base32 (RFC 4648, upper case, no padding: QR "alphanumeric" mode holds it densely):
version (1 byte) | person id (5) | expiry, Unix seconds (4) | nonce (4) | HMAC-SHA256, first 16 bytes.
30 bytes are exactly 48 base32 characters, so no character carries unused bits and changing any
one character changes the decoded bytes (and so fails the signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "YB"
VERSION = 1
_BODY = struct.Struct(">B5sII")
MAC_BYTES = 16
CODE_LENGTH = len(PREFIX) + (_BODY.size + MAC_BYTES) * 8 // 5
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
MAX_PERSON_ID = 2**40 - 1


class VoucherError(ValueError):
    """A code that is not one of ours: malformed, forged or altered."""


class VoucherExpired(ValueError):
    """A genuine code past its lifetime."""

    def __init__(self, expired_at: datetime) -> None:
        super().__init__(f"the voucher code expired at {expired_at.isoformat()}")
        self.expired_at = expired_at


@dataclass(frozen=True, slots=True)
class Voucher:
    person_id: int
    expires_at: datetime


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:MAC_BYTES]


def issue(key: bytes, person_id: int, expires: int, nonce: int | None = None) -> str:
    """A code for ``person_id`` valid until the Unix second ``expires``."""
    if not 0 < person_id <= MAX_PERSON_ID:
        raise ValueError("person id out of range for a voucher code")
    nonce = secrets.randbits(32) if nonce is None else nonce
    body = _BODY.pack(VERSION, person_id.to_bytes(5, "big"), expires, nonce)
    return PREFIX + base64.b32encode(body + _mac(key, body)).decode()


def verify(key: bytes, code: str, now: float) -> Voucher:
    """The voucher in ``code``; raises :class:`VoucherError` or :class:`VoucherExpired`."""
    if len(code) != CODE_LENGTH or not code.startswith(PREFIX):
        raise VoucherError(f"a voucher code has {CODE_LENGTH} characters and starts with {PREFIX}")
    text = code[len(PREFIX) :]
    if not set(text) <= _ALPHABET:
        raise VoucherError("a voucher code uses only A-Z and 2-7 after its prefix")
    raw = base64.b32decode(text)
    body, mac = raw[: _BODY.size], raw[_BODY.size :]
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise VoucherError("the voucher code's signature does not match: forged or altered")
    version, person, expires, _ = _BODY.unpack(body)
    if version != VERSION:
        raise VoucherError("unknown voucher code version")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires:
        raise VoucherExpired(expires_at)
    return Voucher(person_id=int.from_bytes(person, "big"), expires_at=expires_at)
