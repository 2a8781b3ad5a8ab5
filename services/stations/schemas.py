"""Request and response bodies of the stations API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ServiceItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    online: bool
