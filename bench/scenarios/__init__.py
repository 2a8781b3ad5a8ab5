"""Named load scenarios. Each module may define ``async def prepare(ctx)`` (load the data it
needs, idempotently) and must define ``def scenarios(ctx) -> list[Scenario]``."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Scenario:
    name: str
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    script: str | None = None
    """A whole wrk Lua script, for requests that must differ from one another."""
    note: str = ""
    connections: int | None = None
    """Concurrent connections, where the run's default would not fit the use (bulk uploads)."""


def modules() -> list[ModuleType]:
    """``platform`` first, then the others in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__))
    names.sort(key=lambda n: n != "platform")
    return [importlib.import_module(f"{__name__}.{n}") for n in names]


def all_scenarios(ctx: Any) -> list[Scenario]:
    out: list[Scenario] = []
    for module in modules():
        out.extend(module.scenarios(ctx))
    return out


def lua_random_requests(
    path_template: str,
    variables: dict[str, tuple[float, float, bool]],
    *,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
) -> str:
    """A wrk script whose every request fills ``{name}`` placeholders of ``path_template``
    with a fresh random value from ``variables[name] = (low, high, integer)``, so a scenario
    reads many rows, not one cached one."""
    lines = ["math.randomseed(os.time())"]
    for key, value in (headers or {}).items():
        lines.append(f'wrk.headers["{key}"] = "{value}"')
    if body is not None:
        escaped = body.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'wrk.body = "{escaped}"')
    lines.append("request = function()")
    lua_path = '"' + path_template + '"'
    for name, (low, high, integer) in variables.items():
        if integer:
            value = f"math.random({int(low)}, {int(high)})"
        else:
            value = f'string.format("%.6f", {low} + math.random() * ({high} - {low}))'
        lua_path = lua_path.replace("{" + name + "}", f'" .. {value} .. "')
    lines.append(f'  return wrk.format("{method}", {lua_path})')
    lines.append("end")
    return "\n".join(lines) + "\n"
