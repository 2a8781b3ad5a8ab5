"""Serving one process, and starting and stopping the five."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import httpx

from shared.dbadmin import Bootstrap
from shared.topology import ALL_PROCESSES, GATEWAY, SERVICES, ServiceSpec


def ports_from(gateway_port: int) -> dict[str, int]:
    """The gateway on ``gateway_port``, the services on the ports after it, in topology order
    (the internal ports likewise, from the first one)."""
    ports = {GATEWAY.name: gateway_port}
    for offset, spec in enumerate(SERVICES, start=1):
        ports[spec.name] = gateway_port + offset
    return ports


KEEP_ALIVE_SECONDS = 75
"""How long a process keeps an idle connection open. Longer than its callers keep theirs (our
clients 30 s, ingress-nginx 60 s): a server that closes first races the client's next request,
and a POST that meets a just-closed connection is not retried (uvicorn's default is 5 s)."""


def run_process(spec: ServiceSpec, host: str, port: int, internal_port: int) -> None:
    """Runs one process in the foreground until SIGINT or SIGTERM: one uvicorn server, one app,
    listening on its public port and on its internal one (``shared/listeners.py``)."""
    import uvicorn
    from uvicorn.importer import import_from_string

    from shared.settings import get_settings

    if internal_port == port:
        raise ValueError(f"the internal port must differ from the public one ({port})")
    settings = get_settings().model_copy(update={"internal_port": internal_port})
    factory = "gateway.app:create_app" if spec is GATEWAY else spec.app_factory
    config = uvicorn.Config(
        # Built by uvicorn after it has set up its logging, which the app's then replaces.
        partial(import_from_string(factory), settings),
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # the app writes its own, with the request ID
        log_level="warning",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,  # no "server: uvicorn" on every answer
        # The gateway decides the caller's address from X-Forwarded-For itself, trusting only
        # YIBAO_TRUSTED_PROXIES (gateway/forwarded.py): uvicorn would take the left-most entry,
        # the one any caller writes, from whatever FORWARDED_ALLOW_IPS names.
        proxy_headers=False,
    )
    uvicorn.Server(config).run(sockets=[_listening(host, port), _listening(host, internal_port)])


def _listening(host: str, port: int) -> socket.socket:
    """A bound socket as uvicorn binds its own (it listens on it when serving)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve_command(spec: ServiceSpec, host: str, port: int, internal_port: int) -> list[str]:
    return [
        sys.executable, "-m", "cli.main", "serve", spec.name,
        "--host", host, "--port", str(port), "--internal-port", str(internal_port),
    ]  # fmt: skip


def process_env(
    spec: ServiceSpec,
    boot: Bootstrap,
    keys: tuple[Path, Path],
    ports: Mapping[str, int],
    internal_ports: Mapping[str, int],
    host: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    # The private key goes to the gateway alone, whether the environment had it inline or not.
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_JWT_PRIVATE_KEY")}
    env.update(
        {
            "YIBAO_DATABASE_URL": boot.url_for(spec),
            "YIBAO_JWT_PUBLIC_KEY_FILE": str(keys[1]),
            "YIBAO_SERVICE_URLS": json.dumps(
                {s.name: f"http://{host}:{ports[s.name]}" for s in SERVICES}
            ),
            "YIBAO_GATEWAY_INTERNAL_URL": f"http://{host}:{internal_ports[GATEWAY.name]}",
        }
    )
    if spec is GATEWAY:
        env["YIBAO_JWT_PRIVATE_KEY_FILE"] = str(keys[0])
    if extra:
        env.update(extra)
    return env


class DatabaseServer(Protocol):
    """A database server the supervisor keeps running (the embedded one, cli.stack)."""

    name: str

    def alive(self) -> bool: ...

    def start(self) -> None: ...


@dataclass
class Backoff:
    """When a crashed process may be started again: at once the first time, then after
    ``first``, doubling up to ``longest``; forgotten once it has stayed up ``settled``."""

    first: float = 0.5
    longest: float = 10.0
    settled: float = 30.0
    delay: float = 0.0
    next_at: float = 0.0
    started_at: float = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def started(self, now: float) -> None:
        if now - self.started_at >= self.settled:
            self.delay = 0.0  # it had been up a while: this crash is not part of a series
        self.started_at = now
        self.delay = min(max(self.delay * 2, self.first), self.longest)
        self.next_at = now + self.delay


@dataclass(frozen=True)
class Event:
    name: str
    message: str
    gave_up: bool = False


@dataclass
class Supervisor:
    """Starts, watches and stops the processes, and keeps the database running when it is
    the embedded one.

    Children run in sessions of their own, so a Ctrl-C in the terminal reaches only the
    supervisor, which then stops them in order: the gateway first (no new traffic), then the
    services, then (its caller) the database. :meth:`watch` restarts what died, with backoff.
    """

    boot: Bootstrap
    keys: tuple[Path, Path]
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=lambda: {s.name: s.port for s in ALL_PROCESSES})
    internal_ports: dict[str, int] = field(
        default_factory=lambda: {s.name: s.internal_port for s in ALL_PROCESSES}
    )
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    database: DatabaseServer | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: dict[str, list[float]] = field(default_factory=dict)
    backoff: dict[str, Backoff] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def internal_url(self, name: str) -> str:
        return f"http://{self.host}:{self.internal_ports[name]}"

    def start(self, name: str) -> None:
        spec = next(s for s in ALL_PROCESSES if s.name == name)
        command = serve_command(spec, self.host, self.ports[name], self.internal_ports[name])
        env = process_env(
            spec, self.boot, self.keys, self.ports, self.internal_ports, self.host, self.extra_env
        )
        if self.log_dir is None:
            self.procs[name] = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The child keeps its own copy of the descriptor; the parent's is closed at once.
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start_all(self) -> None:
        for spec in ALL_PROCESSES:
            self.start(spec.name)

    def wait_healthy(
        self, name: str, timeout: float = 60.0, stop: Callable[[], bool] = lambda: False
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop():
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}")
            try:
                if httpx.get(f"{self.url(name)}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        if not stop():
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
        if GATEWAY.name in self.procs:
            self.stop(GATEWAY.name)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name in list(self.procs):
            self.stop(name)

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def watch(self) -> list[Event]:
        """One round: starts again, each after its backoff, the database if it died and each
        process that exited. A process that keeps exiting is given up (its event says so);
        the database never is: the services wait for it, and reconnect on their own."""
        now = time.monotonic()
        events: list[Event] = []
        database = self.database
        if database is not None and not database.alive():
            backoff = self.backoff.setdefault(database.name, Backoff())
            if backoff.due(now):
                backoff.started(now)
                try:
                    database.start()
                    events.append(Event(database.name, "stopped; started it again"))
                except Exception as exc:  # a failed start is tried again after the backoff
                    events.append(Event(database.name, f"stopped; could not start yet: {exc}"))
        for name in self.dead():
            backoff = self.backoff.setdefault(name, Backoff())
            if not backoff.due(now):
                continue
            if not self.may_restart(name):
                events.append(Event(name, "keeps exiting; see its log", gave_up=True))
                continue
            backoff.started(now)
            self.start(name)
            events.append(Event(name, "exited; restarting it"))
        return events

    def may_restart(self, name: str, window: float = 60.0, limit: int = 5) -> bool:
        """At most ``limit`` restarts a minute: a process that crashes at start-up is given up."""
        now = time.monotonic()
        recent = [t for t in self.restarts.get(name, []) if now - t < window]
        self.restarts[name] = recent
        if len(recent) >= limit:
            return False
        recent.append(now)
        return True


def free_port_block(size: int = 5) -> int:
    """A base port with ``size`` free ports after it (checked, not reserved: the caller
    starts its servers right away)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size > 65535:
            continue
        if all(_port_free(port) for port in range(base, base + size)):
            return base
    raise RuntimeError("no block of free ports")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
