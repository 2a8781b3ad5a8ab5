"""Claims' own settings (prefix ``YIBAO_``), next to the shared ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClaimsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", env_file=None, extra="ignore")

    idempotency_keep_hours: int = Field(
        48,
        ge=24,
        description="How long an Idempotency-Key and its answer are kept (API.md: at least 24 h).",
    )
    idempotency_purge_interval_seconds: float = Field(
        3600,
        ge=0,
        description="How often each claims process tries to purge older keys; 0 never.",
    )


@lru_cache
def claims_settings() -> ClaimsSettings:
    return ClaimsSettings()
