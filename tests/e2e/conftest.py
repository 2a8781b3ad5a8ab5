"""The five processes for real, on free ports, against a database of the test run."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli.processes import Supervisor, free_port_block, ports_from
from shared.db import with_database
from shared.dbadmin import Bootstrap, bootstrap, drop_database
from shared.migrations import upgrade
from shared.topology import ALL_PROCESSES


@contextmanager
def running_stack(
    database: Bootstrap, keys: tuple[Path, Path], log_dir: Path
) -> Iterator[Supervisor]:
    supervisor = Supervisor(
        database,
        keys,
        ports=ports_from(free_port_block()),
        log_dir=log_dir,
        extra_env={
            "YIBAO_BREAKER_RESET_SECONDS": "0.5",
            "YIBAO_UPSTREAM_TIMEOUT_SECONDS": "3",
            "YIBAO_RATE_LIMIT_ANONYMOUS_BURST": "10000",
            "YIBAO_RATE_LIMIT_BURST": "10000",
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
    database: Bootstrap, keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supervisor]:
    with running_stack(database, keys, tmp_path_factory.mktemp("logs")) as supervisor:
        yield supervisor


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
