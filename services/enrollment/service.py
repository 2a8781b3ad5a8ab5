"""Enrollment rules."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.enrollment.models import Person
from services.enrollment.repository import PersonRepository
from services.enrollment.schemas import PersonCreate, PersonOut
from shared.auth import STAFF_KINDS, Principal
from shared.errors import Conflict, NotFound
from shared.validators import birth_date_of


def person_out(person: Person) -> PersonOut:
    return PersonOut(
        person_id=person.id,
        id_number=person.id_number,
        name=person.name,
        birth_date=person.birth_date,
        region_code=person.region_code,
        phone=person.phone,
        poverty=person.poverty,
    )


async def register_person(session: AsyncSession, data: PersonCreate) -> Person:
    """One person per ID number: a second registration is a conflict, never a second row."""
    statement = (
        insert(Person)
        .values(
            id_number=data.id_number,
            name=data.name,
            birth_date=birth_date_of(data.id_number),
            region_code=data.region_code,
            phone=data.phone,
            poverty=data.poverty,
        )
        .on_conflict_do_nothing(index_elements=[Person.id_number])
        .returning(Person)
    )
    person = await session.scalar(statement)
    if person is None:
        raise Conflict(
            "a person with this ID number is already enrolled", extra={"field": "id_number"}
        )
    return person


async def get_visible_person(session: AsyncSession, principal: Principal, person_id: int) -> Person:
    """The person, if this principal may see them: staff anyone, an app token only its own.

    Someone else's person is 404, not 403, so IDs cannot be probed.
    """
    person = await PersonRepository(session).get(person_id)
    visible = principal.kind in STAFF_KINDS or principal.acts_for_person(person_id)
    if person is None or not visible:
        raise NotFound(f"person {person_id} not found")
    return person
