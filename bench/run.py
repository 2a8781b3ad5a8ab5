"""``make bench``: bring the stack up on its own database, load it, and measure each scenario
with wrk from a second process on loopback, next to a bare ASGI app as the ceiling.

Last, the fault suite (bench/faults.py) runs on a stack and a PostgreSQL of its own, and each
fault's recovery time is printed with the other figures.

Environment: BENCH_SECONDS (per scenario, default 10), BENCH_CONNECTIONS (default 32),
BENCH_ONLY (comma-separated scenario names, ``faults`` for the fault suite), YIBAO_DATABASE_URL
(a server instead of the embedded one), BENCH_HOLD=1 (keep the stack up afterwards and write
each scenario's wrk command to bench/results/hold/, for profiling one scenario at length).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import faults, wrk
from bench.scenarios import Scenario, all_scenarios, modules
from cli.processes import Supervisor, free_port_block, ports_from
from cli.stack import Stack, migrate_all, seed_all
from shared.auth import ClientKind, Principal, TokenSigner
from shared.db import Database, to_libpq_url, with_database
from shared.dbadmin import Bootstrap, bootstrap
from shared.settings import Settings, get_settings
from shared.topology import ALL_PROCESSES, service

ROOT = Path(__file__).resolve().parent.parent

TARGETS: tuple[tuple[str, str, float], ...] = (
    ("gateway_service_health", "service_health_direct", 0.40),
    ("enrollment_eligibility", "gateway_service_health", 0.60),
    ("stations_nearby_walk", "gateway_service_health", 0.50),
    ("claims_settle", "gateway_service_health", 0.20),
)
"""The issues' acceptance figures: scenario / baseline requests/s, measured in the same run."""
RESULTS = ROOT / "bench" / "results"


@dataclass
class BenchContext:
    boot: Bootstrap
    supervisor: Supervisor
    signer: TokenSigner

    @property
    def gateway_url(self) -> str:
        return self.supervisor.url("gateway")

    def service_url(self, name: str) -> str:
        return self.supervisor.url(name)

    def token(self, kind: str, bound: str | None = None, person_id: int | None = None) -> str:
        return self.signer.issue(
            Principal(f"bench-{kind}", ClientKind(kind), bound=bound, person_id=person_id)
        )

    def auth(
        self, kind: str, bound: str | None = None, person_id: int | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(kind, bound, person_id)}"}

    def database(self, name: str) -> Database:
        """A connection to one service's schema, for loading bulk data."""
        return Database(self.boot.url_for(service(name)), schema=name, pool_size=2)


def start_hello(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.hello:app", "--host", "127.0.0.1",
         "--port", str(port), "--loop", "uvloop", "--http", "httptools",
         "--no-access-log", "--log-level", "warning", "--no-server-header",
         "--no-proxy-headers"],
    )  # fmt: skip


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def measure(scenario: Scenario, seconds: int, connections: int) -> wrk.Figures:
    kwargs: dict[str, Any] = {
        "method": scenario.method,
        "headers": scenario.headers,
        "body": scenario.body,
        "script": scenario.script,
        "connections": scenario.connections or connections,
    }
    wrk.run(scenario.url, seconds=2, **kwargs)  # warm-up: pools, caches, JIT of the plans
    return wrk.run(scenario.url, seconds=seconds, **kwargs)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    # Started in the background by a non-interactive shell, Python inherits SIGINT ignored; and
    # a SIGTERM must tear the stack down too. Both go through the ``finally`` below.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    only = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
    settings = get_settings()
    stack = Stack.open(settings)
    supervisor: Supervisor | None = None
    hello: subprocess.Popen[bytes] | None = None
    results: dict[str, dict[str, float]] = {}
    try:
        boot = asyncio.run(bootstrap(with_database(stack.admin_url, "yibao_bench")))
        print("bench: migrating and seeding the yibao_bench database", file=sys.stderr)
        migrate_all(boot)
        asyncio.run(seed_all(boot))
        keys = stack.keys()
        base = free_port_block(11)  # five processes, hello, five internal listeners
        supervisor = Supervisor(
            boot,
            keys,
            ports=ports_from(base),
            internal_ports=ports_from(base + 6),
            log_dir=RESULTS / "logs",
            extra_env={
                "YIBAO_RATE_LIMIT_PER_SECOND": "1000000",
                "YIBAO_RATE_LIMIT_BURST": "1000000",
                "YIBAO_RATE_LIMIT_ANONYMOUS_PER_SECOND": "1000000",
                "YIBAO_RATE_LIMIT_ANONYMOUS_BURST": "1000000",
            },
        )
        signer = TokenSigner(Settings(jwt_private_key_file=keys[0], jwt_public_key_file=keys[1]))
        ctx = BenchContext(boot, supervisor, signer)
        for module in modules():
            prepare = getattr(module, "prepare", None)
            if prepare is not None:
                print(f"bench: preparing {module.__name__}", file=sys.stderr)
                asyncio.run(prepare(ctx))
        supervisor.start_all()
        for spec in ALL_PROCESSES:
            supervisor.wait_healthy(spec.name)
        hello = start_hello(base + 5)
        hello_url = f"http://127.0.0.1:{base + 5}/"
        wait_for(hello_url)

        ceiling = measure(Scenario("bare_asgi_hello", hello_url), seconds, connections)
        results["bare_asgi_hello"] = _row(ceiling, ceiling)
        chosen = [s for s in all_scenarios(ctx) if not only or s.name in only]
        by_name = {s.name: s for s in chosen}
        baselines = {name: baseline for name, baseline, _ in TARGETS}
        for scenario in chosen:
            # Each scenario starts on a settled machine: the previous one's writes flushed.
            asyncio.run(_settle_database(boot.admin_url))
            baseline = by_name.get(baselines.get(scenario.name, ""))
            adjacent: wrk.Figures | None = None
            if baseline is not None and baseline.name in results:
                # This machine slows under minutes of load: a target is compared with its
                # baseline measured again right before it, not only at the start of the run.
                print(f"bench: {baseline.name} (again, before {scenario.name})", file=sys.stderr)
                adjacent = measure(baseline, seconds, connections)
                asyncio.run(_settle_database(boot.admin_url))
            print(f"bench: {scenario.name}", file=sys.stderr)
            figures = measure(scenario, seconds, connections)
            results[scenario.name] = _row(figures, ceiling)
            if adjacent is not None:
                results[scenario.name]["baseline_rps"] = round(adjacent.rps, 1)
            if figures.errors:
                results[scenario.name]["errors"] = figures.errors
        _report(results, seconds, connections)
        if os.environ.get("BENCH_HOLD"):
            _hold(chosen, connections)
    finally:
        if hello is not None:
            hello.terminate()
            hello.wait()
        if supervisor is not None:
            supervisor.stop_all()
        stack.close()
    problems: list[str] = []
    if not only or "faults" in only:
        # On a stack and a PostgreSQL of their own, once the measured one is down.
        print("bench: the fault suite (bench/faults.py)", file=sys.stderr)
        problems = _faults(results, faults.run_all(settings.data_dir.resolve()))
    _write(results)
    failed = [name for name, row in results.items() if row.get("errors")]
    if failed:
        # Figures of a scenario that answered errors measure the errors, not the scenario.
        print(f"scenarios with error responses: {', '.join(failed)}", file=sys.stderr)
    if problems:
        print("the fault suite found:\n  " + "\n  ".join(problems), file=sys.stderr)
    if failed or problems:
        sys.exit(1)


def _hold(scenarios: list[Scenario], connections: int) -> None:
    folder = RESULTS / "hold"
    folder.mkdir(parents=True, exist_ok=True)
    for scenario in scenarios:
        script = folder / f"{scenario.name}.lua"
        script.write_text(
            scenario.script or wrk.lua_for(scenario.method, scenario.headers or {}, scenario.body)
        )
        command = (
            f"wrk -t1 -c{scenario.connections or connections} -d30s --latency "
            f"-s {script} '{scenario.url}'\n"
        )
        (folder / f"{scenario.name}.sh").write_text(command)
    print(f"bench: holding the stack up; commands in {folder} (Ctrl-C stops)", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


async def _settle_database(admin_url: str) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(to_libpq_url(admin_url))
        try:
            await conn.execute("checkpoint")
        finally:
            await conn.close()
    except asyncpg.PostgresError:
        pass  # not a superuser on this server: measure without the flush
    await asyncio.sleep(2)


def _row(figures: wrk.Figures, ceiling: wrk.Figures) -> dict[str, float]:
    return {
        "rps": round(figures.rps, 1),
        "p50_ms": round(figures.p50_ms, 2),
        "p99_ms": round(figures.p99_ms, 2),
        "ratio": round(figures.rps / ceiling.rps, 3),
    }


def _report(results: dict[str, dict[str, float]], seconds: int, connections: int) -> None:
    print(f"\n{seconds}s per scenario, {connections} connections, wrk on loopback")
    print(f"{'scenario':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'× hello':>10}")
    for name, row in results.items():
        line = f"{name:<34}{row['rps']:>10.0f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}{row['ratio']:>10.3f}"
        if row.get("errors"):
            line += f"   ({int(row['errors'])} errors)"
        print(line)
    print()
    for name, baseline, target in TARGETS:
        if name in results and baseline in results:
            first = results[name]["rps"] / results[baseline]["rps"]
            adjacent = results[name]["rps"] / results[name].get(
                "baseline_rps", results[baseline]["rps"]
            )
            verdict = "meets" if adjacent >= target else "MISSES"
            print(
                f"{name} / {baseline}: {adjacent:.2f} against the baseline measured just before, "
                f"{first:.2f} against the first ({verdict} the target {target:.2f})"
            )


def _faults(results: dict[str, dict[str, float]], reports: list[faults.Report]) -> list[str]:
    """Prints the fault scenarios' recovery times and adds them to ``results``; the problems
    they found (tests/e2e/test_faults.py fails on any)."""
    print("\nfault suite: each fault under a settlement load, recovery without help")
    for report in reports:
        print(f"  {report.line()}")
        results[f"fault: {report.name}"] = {
            "recovery_seconds": round(report.recovery_seconds, 2),
            "timeouts": report.timeouts,
            "commit_races": report.races,
        }
    return [f"{r.name}: {problem}" for r in reports for problem in r.problems]


def _write(results: dict[str, dict[str, float]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {path}")


if __name__ == "__main__":
    main()
