"""Request and response bodies of the childcare API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.validators import USCC, RegionCode


class InstitutionCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "uscc": "91350100M000100Y43",
                "name": "小太阳托育园",
                "region_code": "371602001",
            }
        }
    )

    uscc: USCC
    name: str = Field(min_length=1, max_length=200)
    region_code: RegionCode


class InstitutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uscc: str
    name: str
    region_code: str
