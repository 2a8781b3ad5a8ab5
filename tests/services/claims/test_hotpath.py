"""The settlement hot path: a settlement landing between another's read and write, and the
explanation of benefits it writes by hand against the response models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.claims import hotpath, service
from services.claims.domain.calculator import Institution, Patient, apply
from services.claims.domain.policy import BZ_2022, Scheme
from services.claims.hotpath import HotPath
from services.claims.schemas import SettlementRequest
from shared.deadline import Deadline
from tests.services.claims.conftest import item, key, visit


async def test_a_settlement_between_read_and_write_is_computed_again(
    claims: Any, auth: Any, fakes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = fakes.person("resident")
    headers = auth("institution", "H37160200001")
    real = HotPath._settle
    interfered: list[bool] = []

    class Interfering:
        """Lets another settlement of the person commit just before the first one's write."""

        def __init__(self, conn: Any) -> None:
            self.conn = conn

        async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
            if query is hotpath._SETTLE and not interfered:
                interfered.append(True)
                other = await claims.post(
                    "/claims/v1/settlements",
                    json=visit(person, item("300.00")),
                    headers=headers | key(),
                )
                assert other.status_code == 201
            return await self.conn.fetchrow(query, *args, **options)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.conn, name)

    async def settle(self: HotPath, conn: Any, *args: Any) -> Any:
        return await real(self, conn if interfered else Interfering(conn), *args)

    monkeypatch.setattr(HotPath, "_settle", settle)
    first = await claims.post(
        "/claims/v1/settlements", json=visit(person, item("600.00")), headers=headers | key()
    )
    assert first.status_code == 201
    assert interfered
    # 300 × 0.6 = 180 paid first; the cap of 400 leaves 220 of the 360 the read alone implied
    assert first.json()["basic_fund"] == "220.00"
    acc = (
        await claims.get(
            f"/claims/v1/persons/{person}/accumulators?year=2024", headers=auth("admin")
        )
    ).json()
    assert acc["pools"][0]["used"] == "400.00"


@pytest.mark.parametrize("used", [{}, {"employee_basic": Decimal("1234.50")}])
def test_the_hand_written_explanation_matches_the_model(used: dict[str, Decimal]) -> None:
    body = SettlementRequest.model_validate(
        visit(7, item("100.00"), item("12.34", category="B", code="F0001"))
    )
    inputs = service.Inputs(
        7,
        Patient(eligible=True, scheme=Scheme.employee),
        Institution("H37160200001", "hospital", 2, "371602", False, True),
    )
    outcome = service.compute(BZ_2022, inputs, service.visit_of(body), used)
    after = apply(used, outcome.deltas)
    model = service.eob(
        outcome,
        settlement_id=3,
        status="settled",
        person_id=7,
        body=body,
        policy_code="BZ-2022",
        accumulators=service.accumulators_out(BZ_2022, 7, 2024, after, outcome.caps),
    )
    doc = hotpath.eob_doc(
        outcome,
        settlement_id=3,
        status="settled",
        person_id=7,
        body=body,
        policy_code="BZ-2022",
        accumulators=hotpath.accumulators_doc(BZ_2022, 7, 2024, after, outcome.caps),
    )
    assert doc == service.jsonable(model)
    assert list(doc) == list(service.jsonable(model))


async def test_an_uncontended_settlement_writes_on_its_first_read(
    claims: Any, auth: Any, fakes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state read and the state checked under the lock compare equal when nothing changed,
    or every settlement would pay for the slow path."""
    person = fakes.person("employee")
    headers = auth("institution", "H37160200001")
    real = HotPath._settle
    calls: list[int] = []

    async def settle(self: HotPath, conn: Any, *args: Any) -> Any:
        calls.append(1)
        return await real(self, conn, *args)

    monkeypatch.setattr(HotPath, "_settle", settle)
    for amount in ("100.00", "250.00"):
        answer = await claims.post(
            "/claims/v1/settlements", json=visit(person, item(amount)), headers=headers | key()
        )
        assert answer.status_code == 201
    assert len(calls) == 2


async def test_a_retry_replays_even_when_the_visit_would_now_be_refused(
    claims: Any, auth: Any, fakes: Any
) -> None:
    person = fakes.person("employee")
    headers = auth("institution", "H37160200001") | key()
    body = visit(person, item("100.00"))
    first = await claims.post("/claims/v1/settlements", json=body, headers=headers)
    assert first.status_code == 201
    fakes.enrollment.people[person] = {"eligible": False, "scheme": None}
    refused = await claims.post(
        "/claims/v1/settlements", json=body, headers=auth("institution", "H37160200001") | key()
    )
    assert refused.status_code == 422
    again = await claims.post("/claims/v1/settlements", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["settlement_id"] == first.json()["settlement_id"]


async def test_a_settlement_past_its_deadline_at_commit_records_nothing(
    claims: Any, auth: Any, fakes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """settle() has written everything when in_time() finds the deadline passed (as after a
    database frozen mid-statement): the statement fails and the 504 is true."""
    person = fakes.person("employee")
    headers = auth("institution", "H37160200001") | key()
    body = visit(person, item("100.00"))
    with monkeypatch.context() as patched:
        patched.setattr(
            Deadline, "wall_clock", lambda self: datetime.now(UTC) - timedelta(seconds=1)
        )
        late = await claims.post("/claims/v1/settlements", json=body, headers=headers)
    assert late.status_code == 504, late.text
    assert late.json()["title"] == "Deadline exceeded"
    listed = await claims.get(f"/claims/v1/persons/{person}/settlements", headers=auth("admin"))
    assert listed.json()["items"] == []
    retried = await claims.post("/claims/v1/settlements", json=body, headers=headers)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers  # the key was never taken
