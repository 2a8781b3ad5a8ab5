"""Who sees personal identifiers in full, and where: the one statement of the policy.

Personal identifiers are a resident ID number (身份证号) and a person's own phone number: sensitive
personal information under the PIPL (个人信息保护法 art. 28), shown to no one who does not need
it. Institutions' and stations' phone numbers are published contact details, not personal ones.

* **Lists and searches, everywhere**, masked for every caller: persons, staff, bans, ban flags,
  a resolved voucher code, the access log (``id_number_masked``; no phone at all).
* **Logs**, masked always (``shared.logging``, over the whole line).
* **One record** (read, created or changed): in full only to the kinds :data:`POLICY` names
  for it, masked (``371602********0013``, ``138****5678``) to every other kind allowed to read
  it. Each route answering such a record takes the decision from here.
* Every answer carries ``Cache-Control: no-store`` (``shared.hardening``), so no cache on the
  way keeps a copy.

``tests/test_personal_data.py`` checks that the schemas answering a full ``id_number`` are
exactly those named here, so a new route cannot answer one without being added to the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import STAFF_KINDS, ClientKind, Principal, kinds_named
from shared.masking import mask_id_number, mask_phone


@dataclass(frozen=True, slots=True)
class Rule:
    schema: str
    """The response schema carrying ``id_number`` and ``phone``."""
    routes: tuple[str, ...]
    full_to: frozenset[ClientKind]
    why: str

    def shown_to(self, principal: Principal) -> PersonalIdentifiers:
        return PersonalIdentifiers(full=principal.kind in self.full_to)

    @property
    def description(self) -> str:
        """What the schema's identifier fields say about themselves."""
        return (
            f"In full for {kinds_named(self.full_to)} clients, masked for others "
            "(371602********0013, 138****5678): see the personal-data policy"
        )


@dataclass(frozen=True, slots=True)
class PersonalIdentifiers:
    """How one answer shows the identifiers it carries."""

    full: bool

    def id_number(self, value: str) -> str:
        return value if self.full else mask_id_number(value)

    def phone(self, value: str | None) -> str | None:
        return value if self.full or value is None else mask_phone(value)


PERSON = Rule(
    schema="PersonOut",
    routes=("POST /enrollment/v1/persons", "GET /enrollment/v1/persons/{person_id}"),
    full_to=frozenset({*STAFF_KINDS, ClientKind.app}),
    why="bureau staff and stations act for the person in front of them; an app token reads "
    "only its own person",
)

STAFF = Rule(
    schema="StaffOut",
    routes=(
        "POST /childcare/v1/institutions/{institution_id}/staff",
        "GET /childcare/v1/institutions/{institution_id}/staff/{staff_id}",
        "PATCH /childcare/v1/institutions/{institution_id}/staff/{staff_id}",
    ),
    full_to=frozenset({ClientKind.admin, ClientKind.childcare_operator}),
    why="the institution keeps its own staff's records (an operator reads only its own); "
    "reviewers inspect, and the ban list is checked by the service, not by them",
)

POLICY: tuple[Rule, ...] = (PERSON, STAFF)
