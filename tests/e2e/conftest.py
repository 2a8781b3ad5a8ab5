"""The five processes for real, on free ports, against a database of the test run."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cli.processes import Supervisor, free_port_block, ports_from
from shared.db import with_database
from shared.dbadmin import Bootstrap, bootstrap, drop_database
from shared.migrations import upgrade
from shared.topology import ALL_PROCESSES

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")


def leaked(log_dir: Path, sensitive: set[str]) -> list[tuple[str, str]]:
    """Every log line under ``log_dir`` holding a resident ID number, a token, or one of the
    ``sensitive`` values (the secrets and tokens the tests sent), with its file's name."""
    return [
        (path.name, line)
        for path in sorted(log_dir.rglob("*.log"))
        for line in path.read_text().splitlines()
        if ID_NUMBER.search(line) or JWT.search(line) or any(v in line for v in sensitive)
    ]


def issue_token(gateway: str, client: dict[str, str]) -> str:
    """A token for ``client`` (its ``client_id`` and ``client_secret``) from the gateway."""
    response = httpx.post(
        f"{gateway}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="session")
def sensitive() -> set[str]:
    """ID numbers, tokens and secrets the end-to-end tests sent: none may reach a log line."""
    return set()


@contextmanager
def running_stack(
    database: Bootstrap, keys: tuple[Path, Path], log_dir: Path
) -> Iterator[Supervisor]:
    """The five processes on free ports (public and internal), logging under ``log_dir``."""
    base = free_port_block(10)
    supervisor = Supervisor(
        database,
        keys,
        ports=ports_from(base),
        internal_ports=ports_from(base + 5),
        log_dir=log_dir,
        extra_env={
            "YIBAO_BREAKER_RESET_SECONDS": "0.5",
            "YIBAO_UPSTREAM_TIMEOUT_SECONDS": "3",
            "YIBAO_RATE_LIMIT_ANONYMOUS_BURST": "10000",
            "YIBAO_RATE_LIMIT_BURST": "10000",
            "YIBAO_REVOCATION_REFRESH_SECONDS": "1",
        },
    )
    supervisor.start_all()
    try:
        for spec in ALL_PROCESSES:
            supervisor.wait_healthy(spec.name)
        yield supervisor
    finally:
        supervisor.stop_all()


@pytest.fixture(scope="session")
def live(
    database: Bootstrap,
    keys: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
    sensitive: set[str],
) -> Iterator[Supervisor]:
    """The five processes. Once every test using them has run and they have stopped, every line
    they logged is checked for ID numbers, tokens and secrets: the logs of the whole run."""
    log_dir = tmp_path_factory.mktemp("logs")
    with running_stack(database, keys, log_dir) as supervisor:
        yield supervisor
    lines = sum(1 for p in log_dir.rglob("*.log") for _ in p.open())
    assert lines > 0, "the processes logged nothing"
    assert leaked(log_dir, sensitive) == []


@pytest.fixture(scope="module")
def fuzz_database(database: Bootstrap) -> Iterator[Bootstrap]:
    """A database of its own for the fuzzer: what it writes (policies, clients disabled,
    thousands of odd rows) never meets another test. Module-scoped, like its processes: they
    are stopped once the fuzzer is done, not kept idle to the end of the run."""
    url = with_database(database.admin_url, f"yibao_fuzz_{secrets.token_hex(4)}")
    boot = asyncio.run(bootstrap(url))
    try:
        for spec in ALL_PROCESSES:
            upgrade(spec, boot.url_for(spec))
        yield boot
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(scope="module")
def fuzz_live(
    fuzz_database: Bootstrap, keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supervisor]:
    with running_stack(fuzz_database, keys, tmp_path_factory.mktemp("fuzz-logs")) as supervisor:
        yield supervisor
