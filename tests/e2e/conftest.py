"""The five processes for real, on free ports, against the test run's database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.processes import Supervisor, free_port_block, ports_from
from shared.dbadmin import Bootstrap
from shared.topology import ALL_PROCESSES


@pytest.fixture(scope="session")
def live(
    database: Bootstrap, keys: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supervisor]:
    supervisor = Supervisor(
        database,
        keys,
        ports=ports_from(free_port_block()),
        log_dir=tmp_path_factory.mktemp("logs"),
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
