"""The platform's own scenarios: the health read directly and through the gateway."""

from __future__ import annotations

from typing import Any

from bench.scenarios import Scenario


def scenarios(ctx: Any) -> list[Scenario]:
    return [
        Scenario(
            "service_health_direct",
            f"{ctx.service_url('enrollment')}/healthz",
            note="a service's health read, no gateway",
        ),
        Scenario(
            "gateway_service_health",
            f"{ctx.gateway_url}/enrollment/healthz",
            headers=ctx.auth("admin"),
            note="the same read through the gateway, token checked",
        ),
    ]
