"""Starting and stopping the five uvicorn processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.dbadmin import Bootstrap
from shared.topology import ALL_PROCESSES, GATEWAY, SERVICES, ServiceSpec


def ports_from(gateway_port: int) -> dict[str, int]:
    """The gateway on ``gateway_port``, the services on the ports after it, in topology order."""
    ports = {GATEWAY.name: gateway_port}
    for offset, spec in enumerate(SERVICES, start=1):
        ports[spec.name] = gateway_port + offset
    return ports


def uvicorn_command(spec: ServiceSpec, host: str, port: int) -> list[str]:
    factory = "gateway.app:create_app" if spec is GATEWAY else spec.app_factory
    return [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", host, "--port", str(port),
        "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
        "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip


def process_env(
    spec: ServiceSpec,
    boot: Bootstrap,
    keys: tuple[Path, Path],
    ports: Mapping[str, int],
    host: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "YIBAO_DATABASE_URL": boot.url_for(spec),
            "YIBAO_JWT_PUBLIC_KEY_FILE": str(keys[1]),
            "YIBAO_SERVICE_URLS": json.dumps(
                {s.name: f"http://{host}:{ports[s.name]}" for s in SERVICES}
            ),
        }
    )
    if spec is GATEWAY:
        env["YIBAO_JWT_PRIVATE_KEY_FILE"] = str(keys[0])
    if extra:
        env.update(extra)
    return env


@dataclass
class Supervisor:
    boot: Bootstrap
    keys: tuple[Path, Path]
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: {s.name: s.port for s in ALL_PROCESSES})
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def start(self, name: str) -> None:
        spec = next(s for s in ALL_PROCESSES if s.name == name)
        stdout: int | object = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            stdout = (self.log_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            uvicorn_command(spec, self.host, self.ports[name]),
            env=process_env(spec, self.boot, self.keys, self.ports, self.host, self.extra_env),
            stdout=stdout,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT,
        )

    def start_all(self) -> None:
        for spec in ALL_PROCESSES:
            self.start(spec.name)

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}")
            try:
                if httpx.get(f"{self.url(name)}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{name} did not become healthy in {timeout}s")

    def stop(self, name: str, timeout: float = 10.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
        for name in list(self.procs):
            self.stop(name)

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]
