"""`yibao up` (what `make run` runs): ready within 90 s, stops cleanly, keeps its data."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.processes import free_port_block
from shared.db import with_database
from shared.dbadmin import drop_database
from tests.e2e.conftest import issue_token

pytestmark = pytest.mark.xdist_group("e2e")


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert proc.poll() is None, "yibao up exited early"
        try:
            ready = httpx.get(f"{url}/readyz", timeout=2.0)
            if ready.status_code == 200 and ready.json()["status"] == "ok":
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not ready within {timeout}s")


def persons_seen(url: str, data_dir: Path) -> tuple[str, int]:
    admin = next(
        c for c in json.loads((data_dir / "demo-clients.json").read_text()) if c["kind"] == "admin"
    )
    headers = {"Authorization": f"Bearer {issue_token(url, admin)}"}
    count, cursor = 0, None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{url}/enrollment/v1/persons", params=params, headers=headers).json()
        count += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return admin["client_id"], count


def test_up_is_ready_stops_on_sigint_and_restarts_with_its_data(tmp_path):
    import asyncio

    port = free_port_block()
    env = {**os.environ, "YIBAO_DATA_DIR": str(tmp_path)}
    server_url = os.environ.get("YIBAO_DATABASE_URL")
    if server_url:  # a real server: a database of this test's own on it
        env["YIBAO_DATABASE_URL"] = with_database(server_url, f"yibao_up_{port}")
    url = f"http://127.0.0.1:{port}"
    seen = []
    try:
        # First as `kill -INT`, then as a terminal's Ctrl-C, which reaches the whole group.
        for to_group in (False, True):
            proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "up", "--port", str(port)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_ready(url, proc)
                seen.append(persons_seen(url, tmp_path))
            finally:
                if to_group:
                    os.killpg(proc.pid, signal.SIGINT)
                else:
                    proc.send_signal(signal.SIGINT)
                output = proc.communicate(timeout=60)[0].decode()
            assert proc.returncode == 0, output
            assert "stopped" in output
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{url}/healthz", timeout=1.0)
            if not server_url:
                # The embedded server stopped with it.
                assert not (tmp_path / "pg" / "postmaster.pid").exists()
    finally:
        if server_url:
            asyncio.run(drop_database(env["YIBAO_DATABASE_URL"]))
    first, second = seen
    assert first[1] > 0
    assert second == first  # same demo client, same persons: data kept, seeding not repeated
