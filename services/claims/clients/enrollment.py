"""Typed client for the enrollment service (eligibility, voucher codes), after API.md."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Literal, Protocol

import orjson
from pydantic import BaseModel, ValidationError

from services.claims.domain.calculator import OffsiteFiling, Patient, Qualification
from services.claims.domain.policy import Scheme
from shared.context import request_id_var
from shared.deadline import Deadline, current_deadline
from shared.errors import (
    Forbidden,
    NotFound,
    Unprocessable,
    UpstreamUnavailable,
    refused_upstream,
)
from shared.http import Answer, Upstream


class QualificationDoc(BaseModel):
    kind: Literal["chronic", "two_disease"]
    disease_code: str
    start_date: date
    end_date: date | None = None


class FilingDoc(BaseModel):
    kind: str
    destination_region: str
    start_date: date
    end_date: date | None = None


class Eligibility(BaseModel):
    """``GET /enrollment/v1/persons/{id}/eligibility?date=``."""

    person_id: int
    date: date
    eligible: bool
    scheme: Scheme | None = None
    retired: bool = False
    poverty: bool = False
    qualifications: list[QualificationDoc] = []
    offsite_filings: list[FilingDoc] = []

    def patient(self) -> Patient:
        return Patient(
            eligible=self.eligible,
            scheme=self.scheme,
            retired=self.retired,
            poverty=self.poverty,
            qualifications=tuple(
                Qualification(q.kind, q.disease_code, q.start_date, q.end_date)
                for q in self.qualifications
            ),
            offsite_filings=tuple(
                OffsiteFiling(f.kind, f.destination_region, f.start_date, f.end_date)
                for f in self.offsite_filings
            ),
        )


class EnrollmentApi(Protocol):
    async def eligibility(self, person_id: int, day: date) -> Eligibility: ...

    async def resolve_voucher(self, code: str) -> int: ...


ELIGIBILITY_FIELDS = {"path.person_id": "person_id", "query.date": "date"}
"""Enrollment's names of what an eligibility question is made of: its person and day."""


def _eligibility_of(response: Answer, person_id: int) -> Eligibility:
    if response.status_code == 404:
        raise NotFound(f"person {person_id} not found")
    _refused_or_failed(response, f"the eligibility of {person_id}")
    try:
        return Eligibility.model_validate_json(response.content)
    except ValidationError:
        raise UpstreamUnavailable("enrollment answered an unexpected eligibility") from None


def _refused_or_failed(response: Answer, what: str) -> None:
    if response.status_code in (401, 403):
        raise Forbidden(f"enrollment refused this client {what}")
    if response.status_code in (400, 422):
        raise refused_upstream(
            "enrollment", response.status_code, response.content, ELIGIBILITY_FIELDS
        )
    if response.status_code != 200:
        raise UpstreamUnavailable(f"enrollment answered {response.status_code}")


_Question = tuple[int, date, str | None, Deadline | None, "asyncio.Future[Eligibility]"]


def _latest(batch: list[_Question]) -> Deadline | None:
    """The deadline of a call asking for ``batch``: the latest of theirs (each question's
    request keeps its own), none if one has none."""
    deadlines = [question[3] for question in batch]
    if any(deadline is None for deadline in deadlines):
        return None
    return max(deadlines, key=lambda deadline: deadline.at)  # type: ignore[union-attr]


class EligibilityCoalescer:
    """Coalesces the eligibility reads of concurrent settlements (one per process).

    When none of a caller's questions is in flight, a call starts at the next turn of the event
    loop with every question of that caller waiting by then: one alone is the plain ``GET`` (as
    if there were no coalescing), more go together in ``POST /enrollment/v1/eligibility/batch``;
    the questions that arrive while a call is in flight go in the next one. Under load one call
    carries many settlements' reads: the per-call HTTP and framework work was most of what a
    settlement cost in claims and enrollment together. Questions are grouped by the caller's
    ``Authorization`` header, so enrollment applies its rules to each caller as before, and each
    carries its own request ID for enrollment's access log. A call is bounded by the latest
    deadline of the questions in it.
    """

    def __init__(self, client: Upstream, max_batch: int = 100) -> None:
        self.client = client
        self.max_batch = max_batch
        self._waiting: dict[str | None, list[_Question]] = {}
        self._busy: set[str | None] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # referenced until done

    async def eligibility(
        self, authorization: str | None, person_id: int, day: date
    ) -> Eligibility:
        future: asyncio.Future[Eligibility] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(authorization, []).append(
            (person_id, day, request_id_var.get(), current_deadline.get(), future)
        )
        if authorization not in self._busy:
            self._busy.add(authorization)
            task = asyncio.create_task(self._ask(authorization), name="eligibility calls")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _ask(self, authorization: str | None) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            while waiting := self._waiting.get(authorization):
                batch = waiting[: self.max_batch]
                del waiting[: self.max_batch]
                try:
                    if len(batch) == 1:
                        await self._one(headers, batch[0])
                    else:
                        await self._many(headers, batch)
                except Exception as exc:  # the call failed: every question in it fails with it
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
        finally:
            # No await since the loop's last check: a question queued from now on starts a call.
            self._busy.discard(authorization)
            self._waiting.pop(authorization, None)

    async def _one(self, headers: dict[str, str], question: _Question) -> None:
        person_id, day, request_id, deadline, future = question
        response = await self.client.get(
            f"/enrollment/v1/persons/{person_id}/eligibility?date={day.isoformat()}",
            headers={**headers, "X-Request-ID": request_id} if request_id else headers,
            deadline=deadline,
        )
        try:
            answer = _eligibility_of(response, person_id)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(answer)

    async def _many(self, headers: dict[str, str], batch: list[_Question]) -> None:
        response = await self.client.post(
            "/enrollment/v1/eligibility/batch",
            content=orjson.dumps(
                {
                    "items": [
                        {"person_id": person_id, "date": day.isoformat(), "request_id": rid}
                        for person_id, day, rid, _, _ in batch
                    ]
                }
            ),
            headers={**headers, "Content-Type": "application/json"},
            deadline=_latest(batch),
        )
        _refused_or_failed(response, "the eligibility of these persons")
        try:
            answers = EligibilityBatch.model_validate_json(response.content).items
        except ValidationError:
            raise UpstreamUnavailable("enrollment answered an unexpected eligibility") from None
        if len(answers) != len(batch):
            raise UpstreamUnavailable("enrollment answered another number of eligibilities")
        for (person_id, _, _, _, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if answer.status == 200 and answer.eligibility is not None:
                future.set_result(answer.eligibility)
            elif answer.status == 404:
                future.set_exception(NotFound(f"person {person_id} not found"))
            else:
                future.set_exception(
                    UpstreamUnavailable(f"enrollment answered {answer.status} for one person")
                )


class EligibilityAnswer(BaseModel):
    status: int
    eligibility: Eligibility | None = None


class EligibilityBatch(BaseModel):
    """``POST /enrollment/v1/eligibility/batch``."""

    items: list[EligibilityAnswer]


class HttpEnrollmentClient:
    """Calls enrollment with the caller's own token, so enrollment applies its own rules."""

    def __init__(
        self,
        client: Upstream,
        authorization: str | None,
        coalescer: EligibilityCoalescer | None = None,
    ) -> None:
        self.client = client
        self.authorization = authorization
        self.headers = {"Authorization": authorization} if authorization else {}
        self.coalescer = coalescer or EligibilityCoalescer(client)

    async def eligibility(self, person_id: int, day: date) -> Eligibility:
        return await self.coalescer.eligibility(self.authorization, person_id, day)

    async def resolve_voucher(self, code: str) -> int:
        response = await self.client.post(
            "/enrollment/v1/voucher-codes/resolve", json={"code": code}, headers=self.headers
        )
        if response.status_code in (400, 404, 409, 410, 422):
            raise Unprocessable(
                "the voucher code is expired, forged or unknown", field="body.voucher_code"
            )
        if response.status_code in (401, 403):
            raise Forbidden("enrollment refused this client resolving voucher codes")
        if response.status_code != 200:
            raise UpstreamUnavailable(f"enrollment answered {response.status_code}")
        try:
            return int(response.json()["person_id"])
        except (ValueError, KeyError, TypeError):
            raise UpstreamUnavailable("enrollment answered an unexpected voucher") from None
