"""Orchestration across services: what enrollment and stations say, before any DB lock."""

from __future__ import annotations

import asyncio

from services.claims.clients.enrollment import EnrollmentApi
from services.claims.clients.stations import StationsApi
from services.claims.schemas import SettlementRequest
from services.claims.service import Inputs
from shared.auth import ClientKind, Principal
from shared.errors import NotFound, Unprocessable

_QUESTION_FIELDS = {"person_id": "body.person_id", "date": "body.service_date"}


async def gather_inputs(
    principal: Principal,
    body: SettlementRequest,
    enrollment: EnrollmentApi,
    stations: StationsApi,
) -> Inputs:
    """The person (a voucher code resolved), their eligibility and the institution.

    Done before the settlement's transaction takes any lock, so a slow upstream never holds a
    person's accumulators; when one is down this raises 503/504 and nothing is recorded.
    """
    if body.person_id is not None:
        person_id = body.person_id
        # One after the other: the institution is nearly always cached (clients/stations.py) and
        # answers at once, where gathering the two made two tasks on every settlement's path.
        institution = await stations.institution(body.institution_code)
    else:
        assert body.voucher_code is not None
        person_id, institution = await asyncio.gather(
            enrollment.resolve_voucher(body.voucher_code),
            stations.institution(body.institution_code),
        )
    try:
        eligibility = await enrollment.eligibility(person_id, body.service_date)
    except Unprocessable as refused:
        # Enrollment refused the question: name the fields of this request it was made of.
        raise Unprocessable(
            refused.detail or "enrollment refused the eligibility question",
            errors=[
                {**error, "field": _QUESTION_FIELDS.get(error["field"], error["field"])}
                for error in refused.errors or ()
            ],
        ) from None
    if principal.kind is ClientKind.app and principal.person_id != person_id:
        raise NotFound(f"person {person_id} not found")
    return Inputs(person_id, eligibility.patient(), institution.institution())
