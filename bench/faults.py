"""Faults under load: settlements keep coming while, one at a time, processes are killed -9 and
frozen, and the database is frozen and then killed -9.

``tests/e2e/test_faults.py`` asserts what each scenario must keep true (:attr:`Report.problems`
empty, commit races rare); ``make bench`` prints the recovery times. The stack is started as
``yibao up`` starts it, supervisor included, on a PostgreSQL of its own under a temporary folder:
only processes started here are ever signalled, never the test run's database or another's.

What each scenario checks, after the stack has recovered by itself (the time it took is the
scenario's recovery time): every settlement answered 2xx is recorded once; every one answered
5xx or not answered at all is retried with the same Idempotency-Key and paid exactly once; a
504 was not recorded (if its retry finds it recorded, it lost a commit race: counted); no
settlement exists without its key, and the accumulators equal the sum of the settlements,
person by person; nothing answered 500 or anything but 201, 503 and 504.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.scenarios.enrollment import ELIGIBILITY_DATE
from cli.processes import Supervisor, free_port_block, ports_from
from cli.stack import EmbeddedServer, create_clients, migrate_all, seed_all
from shared.auth import ClientKind, Principal, TokenSigner, generate_keypair
from shared.db import to_libpq_url, with_database
from shared.dbadmin import Bootstrap, bootstrap
from shared.settings import Settings
from shared.topology import ALL_PROCESSES

DEADLINE = 2.0
"""The stack's upstream timeout: every request's deadline at the gateway."""
FREEZE = DEADLINE + 2.0
"""How long a frozen process stays frozen: past every deadline of the requests it holds."""
CROWD = 120
"""Callers that keep coming while the database is frozen, besides the load's own: each is
answered 504 at its deadline. Only a settlement frozen in the instant of its commit can be
recorded all the same (a commit race); with this many callers (a few hundred timeouts) the
share of such races among the timeouts is measured, not guessed from a handful."""
WARM = "H37160200001"
"""The institution most settlements are made at: claims has it cached, so they need no
stations (its cache is emptied when claims restarts, and lasts a minute)."""
WORKERS = 4
PAUSE = 0.02
PAUSE_AFTER_FAILURE = 0.3
"""A caller that was answered 5xx waits a little before its next settlement."""
STEADY = 0.5
"""Seconds of load before each fault and after each recovery."""
RECOVERY_LIMIT = 60.0
ANSWERED = frozenset({201, 503, 504})
ENV = {
    "YIBAO_UPSTREAM_TIMEOUT_SECONDS": str(DEADLINE),
    "YIBAO_BREAKER_RESET_SECONDS": "0.5",
    "YIBAO_RATE_LIMIT_PER_SECOND": "100000",
    "YIBAO_RATE_LIMIT_BURST": "100000",
    "YIBAO_RATE_LIMIT_ANONYMOUS_PER_SECOND": "100000",
    "YIBAO_RATE_LIMIT_ANONYMOUS_BURST": "100000",
    "YIBAO_DB_POOL_SIZE": "4",
    "YIBAO_DB_MAX_OVERFLOW": "4",
    "YIBAO_IDEMPOTENCY_PURGE_INTERVAL_SECONDS": "0",
    "YIBAO_ACCESS_LOG": "false",
}


@dataclass
class Outcome:
    """One settlement asked for through the gateway."""

    key: str
    institution: str
    person_id: int
    status: int | None
    """None: no answer at all (the client gave up)."""
    seconds: float
    settlement_id: int | None = None
    """What a 201 answered."""
    recorded_before_retry: bool = False
    """Its retry was answered as a replay: the first request had been recorded."""

    @property
    def timed_out(self) -> bool:
        return self.status in (504, None)


@dataclass
class Report:
    name: str
    recovery_seconds: float
    statuses: Counter[int | None] = field(default_factory=Counter)
    timeouts: int = 0
    """Answered 504 or not answered."""
    races: int = 0
    """Of those, recorded all the same: a commit that raced the deadline."""
    unavailable_recorded: int = 0
    """503s recorded all the same: the service was killed in the instant of a commit (claims
    gone, its statement ran to the end without it). Not a timeout; reported, not limited."""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        answered = ", ".join(
            f"{s or 'none'}: {n}" for s, n in sorted(self.statuses.items(), key=str)
        )
        return (
            f"{self.name:<28} recovered in {self.recovery_seconds:5.2f} s   "
            f"({answered}; commit races {self.races} of {self.timeouts} timeouts"
            + (f", 503s recorded {self.unavailable_recorded}" if self.unavailable_recorded else "")
            + ")"
        )


class FaultStack:
    """The five processes and a PostgreSQL of their own, supervised as by ``yibao up``."""

    def __init__(self, root: Path, server: EmbeddedServer) -> None:
        self.root = root
        self.server = server
        self.boot: Bootstrap = asyncio.run(
            bootstrap(with_database(server.url("postgres"), "yibao_faults"))
        )
        migrate_all(self.boot)
        seeded = {"enrollment": {"persons": 400}, "claims": {}, "stations": {}}
        asyncio.run(seed_all(self.boot, only=seeded))
        self.persons, self.hospitals = asyncio.run(self._reference_data())
        keys = generate_keypair(root / "keys")
        self.signer = TokenSigner(
            Settings(jwt_private_key_file=keys[0], jwt_public_key_file=keys[1])
        )
        self.credentials = asyncio.run(
            create_clients(self.boot, ((ClientKind.admin, None, "faults admin"),))
        )[0]
        base = free_port_block(10)
        self.supervisor = Supervisor(
            self.boot,
            keys,
            ports=ports_from(base),
            internal_ports=ports_from(base + 5),
            log_dir=root / "logs",
            extra_env=ENV,
            database=server,
        )
        self.events: list[str] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    @classmethod
    @contextlib.contextmanager
    def running(cls, root: Path) -> Iterator[FaultStack]:
        server = EmbeddedServer(root)
        try:
            stack = cls(root, server)
            try:
                stack.supervisor.start_all()
                for spec in ALL_PROCESSES:
                    stack.supervisor.wait_healthy(spec.name)
                stack._watcher.start()
                yield stack
            finally:
                stack._stop.set()
                if stack._watcher.is_alive():
                    stack._watcher.join()
                stack.supervisor.stop_all()
        finally:
            server.stop()

    def _watch(self) -> None:
        """What ``yibao up`` does between its start and Ctrl-C, a little more often."""
        while not self._stop.wait(0.2):
            for event in self.supervisor.watch():
                self.events.append(f"{time.monotonic():.1f} {event.name} {event.message}")

    async def _reference_data(self) -> tuple[list[int], list[str]]:
        conn = await asyncpg.connect(to_libpq_url(self.boot.admin_url))
        try:
            day = date.fromisoformat(ELIGIBILITY_DATE)
            persons = await conn.fetch(
                "SELECT DISTINCT person_id FROM enrollment.coverages WHERE start_date <= $1"
                " AND (end_date IS NULL OR end_date >= $1) ORDER BY person_id LIMIT 1000",
                day,
            )
            hospitals = await conn.fetch(
                "SELECT code FROM stations.institutions WHERE kind = 'hospital' AND designated"
                " AND region_code LIKE '3716%' AND code <> $1 ORDER BY code",
                WARM,
            )
        finally:
            await conn.close()
        return [r[0] for r in persons], [r[0] for r in hospitals]

    def url(self, name: str = "gateway") -> str:
        return self.supervisor.url(name)

    def authorization(self, kind: str, bound: str | None = None) -> dict[str, str]:
        token = self.signer.issue(Principal(f"faults-{kind}-{bound}", ClientKind(kind), bound))
        return {"Authorization": f"Bearer {token}"}

    def pid(self, name: str) -> int:
        return self.supervisor.procs[name].pid

    def database_processes(self) -> list[psutil.Process]:
        """This stack's own PostgreSQL: its postmaster and every process it started."""
        pid = self.server.pid()
        assert pid is not None, "the database is not running"
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]


def _visit(person_id: int, institution: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "institution_code": institution,
        "visit_type": "general_outpatient",
        "service_date": ELIGIBILITY_DATE,
        "prescription_id": "RX-1",
        "items": [
            {"code": "XA0001", "name": "阿司匹林肠溶片", "category": "A",
             "quantity": "1", "unit_price": "7.07"},
            {"code": "F0001", "name": "诊查费", "category": "B",
             "quantity": "1", "unit_price": "20.00"},
        ],
    }  # fmt: skip


class Load:
    """Settlements through the gateway from :data:`WORKERS` callers, each pausing
    :data:`PAUSE` between requests, as long as the context lasts; bounded in count and time
    by the scenarios' own length."""

    def __init__(self, stack: FaultStack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http
        self.outcomes: list[Outcome] = []
        self.reads: list[int | None] = []
        """Statuses of reads that need no stations (a person's accumulators), when asked."""
        self.warm = WARM
        """Where settlements are made, an institution claims has cached (it needs no
        stations for them)."""
        self.cold = False
        """Half the settlements at institutions claims has not cached (they need stations)."""
        self.reading = False
        self._cold = iter(stack.hospitals)
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    async def __aenter__(self) -> Load:
        self._running = True
        self._tasks = [asyncio.create_task(self._settle(n)) for n in range(WORKERS)]
        self._tasks.append(asyncio.create_task(self._read()))
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*self._tasks)

    def take(self) -> list[Outcome]:
        """The outcomes since the last call."""
        taken, self.outcomes = self.outcomes, []
        return taken

    def next_cold(self) -> str:
        return next(self._cold)

    async def settle(self, person_id: int, institution: str, key: str | None = None) -> Outcome:
        return await settle(self.stack, self.http, person_id, institution, key)

    async def _settle(self, worker: int) -> None:
        pick = random.Random(worker)
        while self._running:
            cold = self.cold and worker % 2 == 1
            institution = self.next_cold() if cold else self.warm
            outcome = await self.settle(pick.choice(self.stack.persons), institution)
            self.outcomes.append(outcome)
            await asyncio.sleep(PAUSE if outcome.status == 201 else PAUSE_AFTER_FAILURE)

    @contextlib.asynccontextmanager
    async def crowd(self, callers: int) -> AsyncIterator[None]:
        """``callers`` more callers settling at the warm institution while the context lasts."""
        crowding = True

        async def caller(n: int) -> None:
            pick = random.Random(-n)
            while crowding:
                outcome = await self.settle(pick.choice(self.stack.persons), self.warm)
                self.outcomes.append(outcome)
                await asyncio.sleep(PAUSE)

        tasks = [asyncio.create_task(caller(n)) for n in range(callers)]
        try:
            yield
        finally:
            crowding = False
            await asyncio.gather(*tasks)

    async def _read(self) -> None:
        admin = self.stack.authorization("admin")
        while self._running:
            if self.reading:
                person = random.choice(self.stack.persons)
                self.reads.append(
                    await status_of(
                        self.http.get(
                            f"/claims/v1/persons/{person}/accumulators?year=2026", headers=admin
                        )
                    )
                )
            await asyncio.sleep(0.05)


async def settle(
    stack: FaultStack,
    http: httpx.AsyncClient,
    person_id: int,
    institution: str,
    key: str | None = None,
) -> Outcome:
    key = key or uuid.uuid4().hex
    headers = {**stack.authorization("institution", institution), "Idempotency-Key": key}
    started = time.monotonic()
    try:
        answer = await http.post(
            "/claims/v1/settlements", json=_visit(person_id, institution), headers=headers
        )
    except httpx.HTTPError:
        return Outcome(key, institution, person_id, None, time.monotonic() - started)
    settled = answer.status_code == 201
    return Outcome(
        key,
        institution,
        person_id,
        answer.status_code,
        time.monotonic() - started,
        settlement_id=answer.json()["settlement_id"] if settled else None,
        recorded_before_retry=answer.headers.get("Idempotent-Replayed") == "true",
    )


async def status_of(request: Awaitable[httpx.Response]) -> int | None:
    try:
        return (await request).status_code
    except httpx.HTTPError:
        return None


class Stalls:
    """While the context lasts, the longest this process was kept from running: how late a
    short sleep wakes up beyond its time."""

    def __init__(self, period: float = 0.05) -> None:
        self.period = period
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stalls:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.period)
            self.longest = max(self.longest, time.monotonic() - started - self.period)


async def _until(check: Callable[[], Awaitable[bool]], since: float) -> float:
    """Seconds from ``since`` until ``check`` first passes."""
    while time.monotonic() - since < RECOVERY_LIMIT:
        if await check():
            return time.monotonic() - since
        await asyncio.sleep(0.1)
    raise TimeoutError(f"not recovered within {RECOVERY_LIMIT} s")


class Scenarios:
    def __init__(self, stack: FaultStack, http: httpx.AsyncClient, load: Load) -> None:
        self.stack = stack
        self.http = http
        self.load = load

    async def settles(self, institution: str | None = None) -> bool:
        person = random.choice(self.stack.persons)
        outcome = await self.load.settle(person, institution or self.load.warm)
        self.load.outcomes.append(outcome)  # checked with the rest
        return outcome.status == 201

    async def stations_answers(self) -> bool:
        return await status_of(self.http.get(f"/stations/v1/institutions/{WARM}")) == 200

    async def kill(self, name: str, recovered: Callable[[], Awaitable[bool]]) -> Report:
        await asyncio.sleep(STEADY)
        struck = time.monotonic()
        os.kill(self.stack.pid(name), signal.SIGKILL)
        recovery = await _until(recovered, struck)
        await asyncio.sleep(STEADY)
        return Report(f"{name} killed -9", recovery)

    async def stations_frozen(self) -> Report:
        # Settlements during the freeze go to an institution claims has just cached (its
        # cache lasts a minute), the others each to one it has never seen.
        fresh = self.load.next_cold()
        await _until(lambda: self.settles(fresh), time.monotonic())
        self.load.warm = fresh
        await asyncio.sleep(STEADY)
        warm_before = len(self.load.outcomes)
        pid = self.stack.pid("stations")
        self.load.cold = self.load.reading = True
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(FREEZE)
        finally:
            os.kill(pid, signal.SIGCONT)
        thawed = time.monotonic()
        self.load.reading = False
        during = self.load.outcomes[warm_before:]
        reads, self.load.reads = self.load.reads, []
        report = Report("stations frozen (SIGSTOP)", 0.0)
        warm = [o.status for o in during if o.institution == fresh]
        if not warm or any(status != 201 for status in warm):
            report.problems.append(f"settlements needing no stations answered {Counter(warm)}")
        if not reads or any(status != 200 for status in reads):
            report.problems.append(f"accumulator reads answered {Counter(reads)}")
        report.recovery_seconds = await _until(lambda: self.settles(self.load.next_cold()), thawed)
        self.load.cold = False
        self.load.warm = WARM
        await asyncio.sleep(STEADY)
        return report

    async def database_frozen(self) -> Report:
        await asyncio.sleep(STEADY)
        processes = self.stack.database_processes()
        report = Report("PostgreSQL frozen (SIGSTOP)", 0.0)
        for process in processes:
            process.suspend()
        try:
            # First every process's answer, timed with only the load running; then a crowd
            # of callers for as long again as a deadline twice over (see CROWD).
            async with (
                httpx.AsyncClient(base_url=self.stack.url(), timeout=DEADLINE + 3.0) as probing,
                Stalls() as stalls,
            ):
                probes = self._database_probes(probing)
                answers = await asyncio.gather(*(self._timed(p) for p in probes))
            # Within the deadline + 1 s, not counting the time this process itself was not
            # run (a machine shared by many: its stalls are everyone's, not the stack's).
            allowed = DEADLINE + 1.0 + stalls.longest
            for what, status, seconds in answers:
                if status not in (503, 504) or seconds > allowed:
                    report.problems.append(
                        f"{what}: {status} after {seconds:.2f} s (allowed {allowed:.2f} s)"
                    )
            async with self.load.crowd(CROWD):
                await asyncio.sleep(2 * DEADLINE)
        finally:
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.resume()
        thawed = time.monotonic()
        report.recovery_seconds = await _until(self.settles, thawed)
        await asyncio.sleep(STEADY)
        return report

    async def database_killed(self) -> Report:
        await asyncio.sleep(STEADY)
        struck = time.monotonic()
        for process in self.stack.database_processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        recovery = await _until(self.settles, struck)
        report = Report("PostgreSQL killed -9", recovery)
        # Readiness follows the database: every process says so again, by itself.
        try:
            await _until(self.all_ready, time.monotonic())
        except TimeoutError:
            report.problems.append("not every process is ready again")
        await asyncio.sleep(STEADY)
        return report

    async def all_ready(self) -> bool:
        urls = [self.stack.url(spec.name) for spec in ALL_PROCESSES]
        statuses = await asyncio.gather(*(status_of(self.http.get(f"{u}/readyz")) for u in urls))
        return all(status == 200 for status in statuses)

    def _database_probes(
        self, http: httpx.AsyncClient
    ) -> list[tuple[str, Awaitable[httpx.Response]]]:
        """A call needing the database, to the gateway's /auth/token and to each service
        (through the gateway and directly), on a client of their own: none waits for a
        connection behind the load's."""
        admin = self.stack.authorization("admin")
        person = self.stack.persons[0]
        paths = {
            "enrollment": f"/enrollment/v1/persons/{person}",
            "claims": f"/claims/v1/persons/{person}/accumulators?year=2026",
            "stations": f"/stations/v1/institutions/{WARM}",
            "childcare": "/childcare/v1/institutions?limit=1",
        }
        credentials = self.stack.credentials
        probes: list[tuple[str, Awaitable[httpx.Response]]] = [
            (
                "POST /auth/token",
                http.post(
                    "/auth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": credentials["client_id"],
                        "client_secret": credentials["client_secret"],
                    },
                ),
            )
        ]
        for name, path in paths.items():
            probes.append((f"gateway GET {path}", http.get(path, headers=admin)))
            probes.append(
                (f"{name} GET {path}", http.get(self.stack.url(name) + path, headers=admin))
            )
        return probes

    @staticmethod
    async def _timed(probe: tuple[str, Awaitable[httpx.Response]]) -> tuple[str, int | None, float]:
        what, request = probe
        started = time.monotonic()
        status = await status_of(request)
        return what, status, time.monotonic() - started

    async def check(self, report: Report) -> Report:
        """Retries what failed with its key, then checks the books (see the module's doc)."""
        outcomes = self.load.take()
        report.statuses = Counter(o.status for o in outcomes)
        for outcome in outcomes:
            if outcome.status is not None and outcome.status not in ANSWERED:
                report.problems.append(f"a settlement answered {outcome.status}")
        failed = [o for o in outcomes if o.status != 201]
        limit = asyncio.Semaphore(8)
        for outcome, retried in zip(
            failed, await asyncio.gather(*(self._retry(o, limit) for o in failed)), strict=True
        ):
            if retried is None:
                report.problems.append(f"retrying {outcome.key} did not settle it")
                continue
            outcome.settlement_id = retried.settlement_id
            outcome.recorded_before_retry = retried.recorded_before_retry
            if outcome.timed_out:
                report.timeouts += 1
                report.races += outcome.recorded_before_retry
            elif outcome.recorded_before_retry:
                report.unavailable_recorded += 1
        report.problems.extend(await self._books(outcomes))
        return report

    async def _retry(self, outcome: Outcome, limit: asyncio.Semaphore) -> Outcome | None:
        async with limit:
            for _ in range(40):
                again = await self.load.settle(outcome.person_id, outcome.institution, outcome.key)
                if again.status == 201:
                    return again
                await asyncio.sleep(0.25)
        return None

    async def _books(self, outcomes: list[Outcome]) -> list[str]:
        problems: list[str] = []
        conn = await asyncpg.connect(to_libpq_url(self.stack.boot.admin_url))
        try:
            recorded = dict(
                await conn.fetch(
                    "SELECT k.key, s.id FROM claims.idempotency_keys k JOIN claims.settlements s"
                    " ON s.id = (k.response->>'settlement_id')::bigint AND s.status = 'settled'"
                    " WHERE k.key = ANY($1::text[])",
                    [o.key for o in outcomes],
                )
            )
            # What each 201 named (the first answer or its retry's) is the settlement its key
            # recorded.
            wrong = [o for o in outcomes if recorded.get(o.key, -1) != o.settlement_id]
            if wrong:
                problems.append(
                    f"{len(wrong)} settlements answered or retried, not recorded: {wrong[:3]}"
                )
            # Every settlement has exactly one key that answers it, and no key answers two.
            unkeyed = await conn.fetchval(
                "SELECT count(*) FROM claims.settlements s LEFT JOIN (SELECT"
                " (response->>'settlement_id')::bigint AS id FROM claims.idempotency_keys"
                " WHERE status_code = 201) k ON k.id = s.id WHERE k.id IS NULL"
            )
            shared = await conn.fetchval(
                "SELECT count(*) FROM (SELECT response->>'settlement_id' FROM"
                " claims.idempotency_keys WHERE status_code = 201 GROUP BY 1 HAVING count(*) > 1)"
                " AS twice"
            )
            if unkeyed or shared:
                problems.append(f"{unkeyed} settlements without a key, {shared} paid twice")
            drift = await conn.fetch(
                """
                WITH paid AS (
                    SELECT s.person_id, extract(year FROM s.service_date)::int AS year,
                           d.key AS pool, sum(d.value::numeric) AS amount
                      FROM claims.settlements s, jsonb_each_text(s.deltas) d
                     WHERE s.status = 'settled' GROUP BY 1, 2, 3)
                SELECT coalesce(p.person_id, a.person_id), coalesce(p.pool, a.pool),
                       p.amount, a.amount
                  FROM paid p FULL JOIN claims.accumulators a
                    ON (a.person_id, a.year, a.pool) = (p.person_id, p.year, p.pool)
                 WHERE coalesce(p.amount, 0) <> coalesce(a.amount, 0)
                """
            )
            if drift:
                problems.append(f"accumulators differ from the settlements: {drift[:3]}")
        finally:
            await conn.close()
        return problems


async def run_scenarios(stack: FaultStack) -> list[Report]:
    """Each fault in turn under the one load. Order matters for one thing: the stations freeze
    comes soon after claims' restart, while claims still has the warm institution cached."""
    timeout = httpx.Timeout(DEADLINE + 3.0)
    limits = httpx.Limits(max_connections=CROWD + 2 * WORKERS, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(base_url=stack.url(), timeout=timeout, limits=limits) as http,
        Load(stack, http) as load,
    ):
        run = Scenarios(stack, http, load)
        steps: list[Callable[[], Awaitable[Report]]] = [
            lambda: run.kill("enrollment", run.settles),
            lambda: run.kill("stations", run.stations_answers),
            lambda: run.kill("claims", run.settles),
            run.stations_frozen,
            run.database_frozen,
            run.database_killed,
        ]
        reports = []
        for n, step in enumerate(steps, start=1):
            report = await step()
            if n == len(steps):
                await load.stop()  # the last check sees every settlement asked for
            reports.append(await run.check(report))
            print(f"faults: {reports[-1].line()}", file=sys.stderr, flush=True)
        return reports


def run_all(data_dir: Path) -> list[Report]:
    """The scenarios on a stack of their own under a new folder in ``data_dir``, removed
    afterwards. Not a pytest temporary folder: pytest makes those private to the user running
    it, whenever any run starts, and the embedded PostgreSQL runs as a user of its own."""
    data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="faults-", dir=data_dir))
    started = time.monotonic()
    try:
        with FaultStack.running(root) as stack:
            print(f"faults: stack up in {time.monotonic() - started:.1f} s", file=sys.stderr)
            return asyncio.run(run_scenarios(stack))
    finally:
        if not os.environ.get("FAULTS_KEEP"):
            shutil.rmtree(root, ignore_errors=True)
