"""The processes of the system and how they find each other.

One list, read by the command line (to start and migrate them), the gateway (to route) and the
tests, so adding a service is one entry here plus its package.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    """Also the first path segment at the gateway and the Postgres schema it owns."""
    port: int
    title: str

    @property
    def internal_port(self) -> int:
        """Where /metrics (and the gateway's revocation list) are served: never published."""
        return self.port + 1000

    @property
    def package(self) -> str:
        return f"services.{self.name}"

    @property
    def app_factory(self) -> str:
        return f"services.{self.name}.app:create_app"

    @property
    def schema(self) -> str:
        return self.name

    @property
    def db_role(self) -> str:
        return f"yibao_{self.name}"

    @property
    def prefix(self) -> str:
        return f"/{self.name}"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("enrollment", 8001, "Enrollment"),
    ServiceSpec("claims", 8002, "Claims"),
    ServiceSpec("stations", 8003, "Stations"),
    ServiceSpec("childcare", 8004, "Childcare"),
)

GATEWAY = ServiceSpec("gateway", 8000, "Gateway")
"""The gateway owns a schema too: the API clients whose tokens it issues."""

ALL_PROCESSES: tuple[ServiceSpec, ...] = (*SERVICES, GATEWAY)


def service(name: str) -> ServiceSpec:
    for spec in ALL_PROCESSES:
        if spec.name == name:
            return spec
    raise KeyError(name)
