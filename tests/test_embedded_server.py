"""The embedded PostgreSQL starts once, safely, when several processes start it at once; and
several test workers bootstrap their databases on it at once.

On a new machine, run as root, pgserver creates its system user before taking its own lock:
two test workers raced there (``useradd ... exit 9``, or initdb failing on the loser). Every
start-up now goes through one machine-wide lock (``cli.stack.START_LOCK``), so the user is
created, the data folder initialised and the server started by one process while the others
wait for it. This machine's ``pgserver`` user exists already: the test checks the lock itself
(no start-up step runs while another process holds it), then that processes starting at once
share one server. ``../shared/tools/fresh-machine`` runs the whole suite where the user does
not exist yet.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import fasteners
from pgserver.postgres_server import PostgresServer

from cli.stack import START_LOCK
from shared.db import with_database
from shared.dbadmin import bootstrap, drop_database

ROOT = Path(__file__).resolve().parent.parent

_START = """
import sys
from pathlib import Path
from cli.stack import EmbeddedServer

server = EmbeddedServer(Path(sys.argv[1]))
print(server.url("postgres"), flush=True)
print(server._server.psql("SELECT 40 + 2 AS answer;").split()[2], flush=True)
sys.stdin.read()  # hold the server until the test is done with it
server.stop()
"""


def _start(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _START, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_processes_starting_at_once_wait_for_one_another_and_share_one_server():
    # Under the repo's data folder, not pytest's temporary one: /tmp/pytest-of-<user> is
    # shared with every other pytest run on the machine, which prunes it as it starts.
    data_dir = ROOT / ".data" / f"test-start-{secrets.token_hex(4)}"
    lock = fasteners.InterProcessLock(PostgresServer.runtime_path / START_LOCK)
    assert lock.acquire(timeout=60)
    try:
        starting = [_start(data_dir), _start(data_dir)]
        time.sleep(1.5)
        # Held elsewhere, the lock keeps both before any step of pgserver's start-up.
        assert all(p.poll() is None for p in starting)
        assert not (data_dir / "pg" / "PG_VERSION").exists()
    finally:
        lock.release()
    try:
        answers = []
        for process in starting:
            assert process.stdout is not None
            url, answer = process.stdout.readline().strip(), process.stdout.readline().strip()
            answers.append((url, answer))
        assert answers[0] == answers[1]  # one server, both connected to it
        assert answers[0][1] == "42"
        assert (data_dir / "pg" / "PG_VERSION").exists()
    finally:
        for process in starting:
            process.communicate(timeout=60)
        shutil.rmtree(data_dir)
        assert [p.returncode for p in starting] == [0, 0]


async def test_bootstraps_of_several_databases_at_once_all_succeed(database):
    """Roles belong to the server: every bootstrap makes or alters the same ones. Each worker
    of a test run bootstraps its own database, at the same moment as the others; under a lock
    of one database each, two altered a role at once and one failed."""
    urls = [
        with_database(database.admin_url, f"yibao_boot_{n}_{secrets.token_hex(3)}")
        for n in range(4)
    ]
    try:
        boots = await asyncio.gather(*(bootstrap(url) for url in urls))
        assert all(boot.separate_roles for boot in boots)
    finally:
        await asyncio.gather(*(drop_database(url) for url in urls))
