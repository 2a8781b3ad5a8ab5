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
