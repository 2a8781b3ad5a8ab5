"""Request and response bodies of the claims API."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    effective_from: date
    description: str
    parameters: dict[str, Any]
