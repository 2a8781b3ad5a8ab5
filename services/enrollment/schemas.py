"""Request and response bodies of the enrollment API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.masking import mask_id_number
from shared.validators import IdNumber, RegionCode


class PersonCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id_number": "371602198001010013",
                "name": "张伟",
                "region_code": "371602001",
                "phone": "13800000000",
                "poverty": False,
            }
        }
    )

    id_number: IdNumber
    name: str = Field(min_length=1, max_length=100)
    region_code: RegionCode
    phone: str | None = Field(None, pattern=r"^\+?[0-9\-]{5,20}$")
    poverty: bool = False


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: int
    id_number: str
    name: str
    birth_date: date
    region_code: str
    phone: str | None
    poverty: bool


class PersonListItem(BaseModel):
    """A person in a list: the ID number is masked."""

    person_id: int
    id_number_masked: str
    name: str
    region_code: str
    poverty: bool

    @classmethod
    def of(cls, person: PersonOut) -> PersonListItem:
        return cls(
            person_id=person.person_id,
            id_number_masked=mask_id_number(person.id_number),
            name=person.name,
            region_code=person.region_code,
            poverty=person.poverty,
        )
