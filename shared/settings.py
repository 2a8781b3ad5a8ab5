"""Settings read from the environment (prefix ``YIBAO_``), one object per process."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.topology import SERVICES, ServiceSpec


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", env_file=None, extra="ignore")

    env: str = Field("development", description="development | test | production")

    database_url: str | None = Field(
        None,
        description=(
            "The PostgreSQL URL this process connects with. A service process gets its own "
            "role's URL; the command line treats it as the server's admin URL. Unset: the "
            "embedded server under data_dir."
        ),
    )
    database_read_url: str | None = Field(
        None, description="A read replica for ReadSession routes; unset: the primary."
    )
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_connect_timeout_seconds: float = Field(
        2.0, gt=0, description="Serving processes: the longest a database connection may take."
    )
    db_role_password: str | None = Field(
        None, description="Password of the per-service roles, where the server asks for one."
    )

    data_dir: Path = Field(Path(".data"), description="Embedded database, dev keys, credentials.")

    jwt_private_key: str | None = None
    jwt_private_key_file: Path | None = None
    jwt_public_key: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "yibao"
    jwt_audience: str = "yibao"
    token_lifetime_seconds: int = 3600
    revocation_refresh_seconds: float = Field(
        5.0,
        gt=0,
        description="How often every process reloads the disabled clients (the gateway from "
        "its database, the services from the gateway): how soon a disabled client's tokens are "
        "refused everywhere",
    )

    host: str = "127.0.0.1"
    gateway_port: int = 8000
    internal_port: int | None = Field(
        None,
        description="The port of this process's internal listener, which alone answers "
        "/metrics (and at the gateway the revocation list the services read); never "
        "published. Unset: 1000 above the process's port in shared/topology.py (9000-9004).",
    )
    gateway_internal_url: str = Field(
        "http://127.0.0.1:9000",
        description="Services: the gateway's internal listener, where they read the disabled "
        "clients.",
    )
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Gateway: the reverse proxies in front of it, as addresses or networks, "
        "comma-separated. The caller is the right-most address of X-Forwarded-For that is not "
        "one of them; empty: the connecting address is the caller and X-Forwarded-For is "
        "ignored.",
    )
    service_urls: dict[str, str] = Field(
        default_factory=lambda: {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES},
        description="Where each service listens, by name (JSON in YIBAO_SERVICE_URLS).",
    )
    upstream_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description=(
            "The longest a request may take: the gateway's deadline for each request it "
            "forwards (and the time left it passes on), a service's for a request that comes "
            "without one, and the bound of every pool's waits and statements."
        ),
    )
    upstream_connect_timeout_seconds: float = 1.0
    breaker_failure_threshold: int = 5
    breaker_reset_seconds: float = 2.0

    rate_limit_per_second: float = Field(50.0, description="Sustained requests/s per client.")
    rate_limit_burst: int = Field(100, description="Requests a client may send at once.")
    rate_limit_anonymous_per_second: float = Field(
        20.0, description="Per source address, for calls without a token."
    )
    rate_limit_anonymous_burst: int = 60

    max_body_bytes: int = Field(
        16 * 1024 * 1024, description="Largest request body the gateway forwards (413 above)."
    )
    max_header_bytes: int = Field(
        16 * 1024, description="Every process: request headers larger in all are 431."
    )
    max_header_count: int = Field(100, description="Every process: more headers than this are 431.")

    log_level: str = "INFO"
    access_log: bool = True

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def internal_port_of(self, spec: ServiceSpec) -> int:
        return self.internal_port or spec.internal_port

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _not_everyone(
        cls, networks: list[IPv4Network | IPv6Network]
    ) -> list[IPv4Network | IPv6Network]:
        if any(network.prefixlen == 0 for network in networks):
            raise ValueError("trusting every address would let any caller choose its own")
        return networks

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        refuse_placeholders(self, ("database_url", "database_read_url", "db_role_password",
                                   "jwt_private_key", "jwt_public_key"))  # fmt: skip
        return self


PLACEHOLDER = "CHANGE-ME"
"""What the example secrets in deploy/ say instead of a value."""


def refuse_placeholders(settings: BaseSettings, fields: tuple[str, ...]) -> None:
    """In production, a setting still holding an example value stops the process at start."""
    if getattr(settings, "env", "development") != "production":
        return
    for name in fields:
        value = getattr(settings, name)
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if isinstance(text, str) and PLACEHOLDER in text:
            raise ValueError(f"YIBAO_{name.upper()} still holds the example value {PLACEHOLDER}")


@lru_cache
def get_settings() -> Settings:
    return Settings()
