"""Enrollment's own settings (prefix ``YIBAO_``), next to the shared ones.

The voucher key is read from ``YIBAO_VOUCHER_SECRET``. Without it, outside production, a random
key is made once and kept under the data folder (like the development JWT keys), so every process
of one machine signs and checks with the same key and no guessable default ever exists.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PLACEHOLDER, Settings


class EnrollmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", env_file=None, extra="ignore")

    voucher_secret: SecretStr | None = Field(
        None, description="Key of the voucher codes' HMAC; at least 32 characters."
    )
    voucher_lifetime_seconds: int = Field(120, ge=10, le=3600)
    hot_path_synchronous_commit: bool = Field(
        True,
        description=(
            "Wait for the WAL flush of the access-log entries the eligibility and voucher reads "
            "write. On by default: an answered read's log entry is never lost. Off trades the "
            "last moments' entries, should the database crash, for throughput."
        ),
    )


@lru_cache
def enrollment_settings() -> EnrollmentSettings:
    return EnrollmentSettings()


MIN_SECRET_LENGTH = 32


def voucher_key(settings: Settings, own: EnrollmentSettings | None = None) -> bytes:
    """The voucher signing key: the configured one, else (not in production) the local one."""
    own = own or enrollment_settings()
    if own.voucher_secret is not None:
        value = own.voucher_secret.get_secret_value()
        if len(value) < MIN_SECRET_LENGTH:
            raise RuntimeError(
                f"YIBAO_VOUCHER_SECRET must have at least {MIN_SECRET_LENGTH} characters"
            )
        if settings.is_production and PLACEHOLDER in value:
            # The example secret in deploy/ is long enough to pass the length check.
            raise RuntimeError(f"YIBAO_VOUCHER_SECRET still holds the example value {PLACEHOLDER}")
        return value.encode()
    if settings.is_production:
        raise RuntimeError("YIBAO_VOUCHER_SECRET must be set in production")
    return _local_key(settings.data_dir.resolve() / "keys" / "voucher-secret")


def _local_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        temporary.write_text(secrets.token_urlsafe(48))
        temporary.chmod(0o600)
        try:
            # link() fails if another process won the race; then both use the winner's key.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip().encode()
