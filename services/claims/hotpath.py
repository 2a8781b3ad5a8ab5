"""Preview and settle on a plain asyncpg pool.

On these two routes the ORM session (statement compilation, unit of work, its BEGIN/COMMIT round
trips) cost several times the queries themselves, on a machine where every process shares two
cores. A preview is one read. A settlement is two calls, each its own transaction: a read of
what the calculation depends on, then ``settle()`` (migration 0005), which under the person's
lock claims the Idempotency-Key, checks that state is unchanged and writes everything; if it
changed, the settlement is read and computed again in one transaction holding the lock. The
money rules stay in :mod:`services.claims.domain`; only the I/O moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from services.claims import repository
from services.claims.domain.calculator import ZERO, Outcome, Pool, apply
from services.claims.domain.policy import PolicyParameters, VisitType
from services.claims.domain.supervision import Billed, check
from services.claims.schemas import SettlementRequest
from services.claims.service import Inputs, compute, visit_of
from shared.auth import Principal
from shared.db import HotConnection
from shared.deadline import current_deadline, ensure_time_to_commit, statement_timeout
from shared.errors import Unprocessable

_POLICIES = "SELECT effective_from, code, parameters FROM benefit_policies"

_ACCUMULATORS = "SELECT pool, amount FROM accumulators WHERE person_id = $1 AND year = $2"

# A statement of its own: in Read Committed a statement's snapshot is taken when it starts, so a
# read in the same statement as the lock could miss a settlement committed while it waited.
_LOCK = "SELECT pg_advisory_xact_lock($1::int, $2::int)"

# What the calculation and supervision depend on, the catalog rows of the items, and the new
# settlement's id (known before the write: flags and the remembered answer carry it).
_READ = """
SELECT s.used, s.others,
    (SELECT coalesce(json_agg(json_build_array(code, daily_limit::text, prescription_only)), '[]')
       FROM drugs WHERE code = ANY($6::text[]))::text,
    nextval('settlements_id_seq')
FROM settlement_state($1, $2, $3, $4, $5) s
"""

# See migration 0005: claims the key and writes everything, or answers the key's first request.
# in_time() (migration 0008) runs once settle() has returned, just before the statement's
# commit: past the request's deadline it fails the statement and nothing is recorded.
_SETTLE = (
    "SELECT o_won, o_hash, o_status, o_response, in_time($37) FROM settle("
    + ", ".join(f"${n}" for n in range(1, 37))
    + ")"
)

_CLAIMED = """
SELECT request_hash, status_code, response::text FROM idempotency_keys
WHERE client_id = $1 AND key = $2
"""

STALE = "YB409"
"""settle()'s answer when the state read before the lock has changed since."""


class Replay(Exception):
    """The key was already used with this body: answer its first response again."""

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code = status_code
        self.body = body


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def accumulators_doc(
    policy: PolicyParameters,
    person_id: int,
    year: int,
    used: Mapping[str, Decimal],
    caps: Mapping[str, Decimal | None],
) -> dict[str, Any]:
    """:func:`services.claims.service.accumulators_out` as JSON, without the model pass."""
    pools = []
    for pool, cap in caps.items():
        if pool == Pool.ADMISSIONS:
            continue
        amount = used.get(pool, ZERO)
        pools.append(
            {
                "pool": pool,
                "used": _money(amount),
                "annual_cap": None if cap is None else _money(cap),
                "remaining": None if cap is None else _money(max(ZERO, cap - amount)),
            }
        )
    return {
        "person_id": person_id,
        "year": year,
        "inpatient_admissions": int(used.get(Pool.ADMISSIONS, ZERO)),
        "pools": pools,
    }


def eob_doc(
    outcome: Outcome,
    *,
    settlement_id: int | None,
    status: str,
    person_id: int,
    body: SettlementRequest,
    policy_code: str,
    accumulators: dict[str, Any],
) -> dict[str, Any]:
    """:func:`services.claims.service.eob` as JSON (same fields, same order)."""
    return {
        "settlement_id": settlement_id,
        "status": status,
        "person_id": person_id,
        "institution_code": body.institution_code,
        "visit_type": body.visit_type.value,
        "service_date": body.service_date.isoformat(),
        "policy_code": policy_code,
        "total": _money(outcome.total),
        "out_of_scope": _money(outcome.out_of_scope),
        "policy_scope": _money(outcome.policy_scope),
        "deductible": _money(outcome.deductible),
        "basic_fund": _money(outcome.basic_fund),
        "large_amount_subsidy": _money(outcome.large_amount_subsidy),
        "critical_illness": _money(outcome.critical_illness),
        "medical_assistance": _money(outcome.medical_assistance),
        "personal_pay": _money(outcome.personal_pay),
        "accumulators": accumulators,
    }


def _quantities(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in items:
        out[str(line["code"])] += Decimal(str(line["quantity"]))
    return dict(out)


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


async def reset_connection(connection: asyncpg.Connection) -> None:
    """Instead of asyncpg's reset query (a round trip per request): every use here ends its
    transaction and advisory locks are transaction-scoped, so only an interrupted transaction
    can leave state behind."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class HotPath:
    """Every wait here (a pooled connection, a statement) is bounded by the request's
    deadline; past it the wait ends in a ``TimeoutError``, answered 504."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def policy(self, day: date) -> tuple[str, PolicyParameters]:
        if repository.policies_stale():
            async with HotConnection(self.pool) as conn:
                rows = await conn.fetch(_POLICIES, timeout=statement_timeout())
            repository.remember_policies((row[0], row[1], orjson.loads(row[2])) for row in rows)
        found = repository.cached_policy(day)
        if found is None:
            raise Unprocessable(
                f"no benefit policy is in force on {day.isoformat()}", field="body.service_date"
            )
        return found

    async def preview(self, body: SettlementRequest, inputs: Inputs) -> dict[str, Any]:
        code, policy = await self.policy(body.service_date)
        year = body.service_date.year
        async with HotConnection(self.pool) as conn:
            rows = await conn.fetch(
                _ACCUMULATORS, inputs.person_id, year, timeout=statement_timeout()
            )
        used = {pool: amount for pool, amount in rows}
        outcome = compute(policy, inputs, visit_of(body), used)
        after = apply(used, outcome.deltas)
        return eob_doc(
            outcome,
            settlement_id=None,
            status="preview",
            person_id=inputs.person_id,
            body=body,
            policy_code=code,
            accumulators=accumulators_doc(policy, inputs.person_id, year, after, outcome.caps),
        )

    async def settle(
        self,
        principal: Principal,
        key: str,
        request_hash: str,
        body: SettlementRequest,
        items: list[dict[str, Any]],
        inputs: Inputs,
    ) -> dict[str, Any]:
        """The answer of a new settlement, or :class:`Replay` for a key already used.

        Optimistic: read, compute, then one call that writes only if what was read still holds
        under the person's lock. Each call is its own transaction (no BEGIN/COMMIT round trips).
        """
        policy = await self.policy(body.service_date)
        async with HotConnection(self.pool) as conn:
            try:
                return await self._settle(
                    conn, policy, principal, key, request_hash, body, items, inputs
                )
            except asyncpg.PostgresError as exc:
                if exc.sqlstate != STALE:
                    raise
            # Another settlement of this person came in between: again, holding the lock from
            # the read on (settle() takes it again, re-entrant within one transaction).
            async with conn.transaction():
                await conn.execute(
                    _LOCK,
                    repository.PERSON_LOCK_NAMESPACE,
                    inputs.person_id % 2_147_483_647,
                    timeout=statement_timeout(),
                )
                answer = await self._settle(
                    conn, policy, principal, key, request_hash, body, items, inputs
                )
                ensure_time_to_commit()
                return answer

    async def _settle(
        self,
        conn: asyncpg.Connection,
        policy_version: tuple[str, PolicyParameters],
        principal: Principal,
        key: str,
        request_hash: str,
        body: SettlementRequest,
        items: list[dict[str, Any]],
        inputs: Inputs,
    ) -> dict[str, Any]:
        code, policy = policy_version
        day = body.service_date
        year = day.year
        person_id = inputs.person_id
        inpatient = body.visit_type is VisitType.inpatient
        last = body.discharge_date or day
        quantities = _quantities(items)
        raw_used, raw_others, raw_drugs, settlement_id = await conn.fetchrow(
            _READ, person_id, year, day, inpatient, last, list(quantities),
            timeout=statement_timeout(),
        )  # fmt: skip
        used = {pool: Decimal(amount) for pool, amount in orjson.loads(raw_used)}
        try:
            outcome = compute(policy, inputs, visit_of(body), used)
        except Unprocessable:
            # A retry whose first request was settled replays that answer, whatever the rules
            # say of the visit now (a coverage ended since, say).
            seen = await conn.fetchrow(
                _CLAIMED, principal.client_id, key, timeout=statement_timeout()
            )
            if seen is not None:
                raise self._replay(seen[0], seen[1], seen[2], request_hash) from None
            raise
        after = apply(used, outcome.deltas)
        snapshot = accumulators_doc(policy, person_id, year, after, outcome.caps)
        earlier = [
            Billed(sid, VisitType(kind), date.fromisoformat(served), _day(out), _quantities(b))
            for sid, kind, served, out, b in orjson.loads(raw_others)
        ]
        drugs = orjson.loads(raw_drugs)
        limits = {c: Decimal(limit) for c, limit, _ in drugs if limit is not None}
        unprescribed = (
            [c for c, _, prescription_only in drugs if prescription_only]
            if inputs.institution.kind == "pharmacy" and body.prescription_id is None
            else []
        )
        new = Billed(settlement_id, body.visit_type, day, last, quantities)
        flags = check(new, earlier, limits, unprescribed)
        answer = eob_doc(
            outcome,
            settlement_id=settlement_id,
            status="settled",
            person_id=person_id,
            body=body,
            policy_code=code,
            accumulators=snapshot,
        )
        deltas = sorted(outcome.deltas.items())
        deadline = current_deadline.get()
        won, stored_hash, status_code, response, _ = await conn.fetchrow(
            _SETTLE,
            principal.client_id,
            key,
            request_hash,
            repository.PERSON_LOCK_NAMESPACE,
            person_id % 2_147_483_647,
            year,
            inpatient,
            last,
            raw_used,
            raw_others,
            settlement_id,
            day,
            person_id,
            body.institution_code,
            body.visit_type.value,
            body.disease_code,
            body.discharge_date,
            inputs.patient.scheme.value if inputs.patient.scheme else "",
            code,
            outcome.total,
            outcome.out_of_scope,
            outcome.policy_scope,
            outcome.deductible,
            outcome.basic_fund,
            outcome.large_amount_subsidy,
            outcome.critical_illness,
            outcome.medical_assistance,
            outcome.personal_pay,
            orjson.dumps({pool: str(amount) for pool, amount in deltas}).decode(),
            orjson.dumps(snapshot).decode(),
            orjson.dumps(items).decode(),
            [pool for pool, _ in deltas],
            [amount for _, amount in deltas],
            [flag.kind.value for flag in flags],
            [flag.detail[:500] for flag in flags],
            orjson.dumps(answer).decode(),
            None if deadline is None else deadline.wall_clock(),
            timeout=statement_timeout(),
        )
        if not won:
            raise self._replay(stored_hash, status_code, response, request_hash)
        return answer

    @staticmethod
    def _replay(
        stored_hash: str, status_code: int | None, response: str | None, request_hash: str
    ) -> Replay:
        if stored_hash != request_hash:
            raise Unprocessable(
                "this Idempotency-Key was used with another request",
                field="header.Idempotency-Key",
            )
        return Replay(status_code or 200, orjson.loads(response) if response else None)
