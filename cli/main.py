"""``yibao``: up, migrate, seed, serve, clients create."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import httpx
import typer
from rich.console import Console

from cli.processes import Supervisor, ports_from, run_process
from cli.stack import (
    DEMO_CLIENTS,
    Stack,
    create_clients,
    ensure_demo_clients,
    migrate_all,
    run,
    seed_all,
    set_client_enabled,
)
from shared.auth import ClientKind
from shared.dbadmin import Bootstrap
from shared.migrations import at_head, head_revisions
from shared.settings import get_settings
from shared.topology import ALL_PROCESSES, GATEWAY, service

app = typer.Typer(help="yibao: the medical-insurance and childcare backend.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
console = Console(stderr=True)


def _prepare(stack: Stack, *, seed: bool) -> Bootstrap:
    with console.status("database: roles and schemas"):
        boot = run(stack.bootstrap())
    where = "embedded PostgreSQL" if stack.embedded else "PostgreSQL from YIBAO_DATABASE_URL"
    console.print(f"[green]✓[/] database ready ({where})")
    with console.status("migrations") as status:
        migrate_all(boot, lambda name: status.update(f"migrations: {name} done"))
    console.print(f"[green]✓[/] migrations applied ({len(ALL_PROCESSES)} schemas)")
    if seed:
        with console.status("demo data") as status:
            run(seed_all(boot, lambda name, summary: console.print(f"  {name}: {summary}")))
        console.print("[green]✓[/] demo data loaded")
    return boot


@app.command()
def migrate() -> None:
    """Create roles and schemas and apply every service's migrations."""
    stack = Stack.open(get_settings())
    try:
        _prepare(stack, seed=False)
    finally:
        stack.close()


_MIGRATED_POLL_SECONDS = 2.0


@app.command()
def migrated(
    name: Annotated[str, typer.Argument(help="gateway, enrollment, claims, stations or childcare")],
    wait: Annotated[
        float, typer.Option(help="Seconds to keep polling before giving up; 0 checks once")
    ] = 0.0,
) -> None:
    """Exit 0 once NAME's schema is at its migrations' head or past it (YIBAO_DATABASE_URL: its
    role's URL).

    Containers run it before the process (a Kubernetes initContainer), so a new version never
    serves on a schema its migration Job has not brought up to date yet.
    """
    try:
        spec = service(name)
    except KeyError:
        console.print(f"[red]✗[/] unknown process {name!r}")
        raise typer.Exit(2) from None
    url = get_settings().database_url
    if not url:
        console.print("[red]✗[/] YIBAO_DATABASE_URL is not set")
        raise typer.Exit(2)
    head = ", ".join(sorted(head_revisions(spec)))
    deadline = time.monotonic() + wait
    while True:
        done, current = run(at_head(spec, url))
        if done:
            where = ", ".join(sorted(current or ()))
            state = "at head" if where == head else f"at {where}, past this image's head {head},"
            console.print(f"[green]✓[/] {name}: schema {state} ready to serve")
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            where = ", ".join(sorted(current)) if current else "not migrated (or unreachable)"
            console.print(
                f"[red]✗[/] {name}: schema is at {where}, migrations' head is {head}; "
                f"gave up after {wait:g} s (has `yibao migrate` run?)"
            )
            raise typer.Exit(1)
        time.sleep(min(_MIGRATED_POLL_SECONDS, remaining))


@app.command()
def seed() -> None:
    """Load the demo data (idempotent)."""
    stack = Stack.open(get_settings())
    try:
        _prepare(stack, seed=True)
    finally:
        stack.close()


@clients_app.command("create")
def clients_create(
    kind: Annotated[ClientKind, typer.Option(help="The client's kind (API.md)")],
    bind: Annotated[
        str | None, typer.Option(help="H/P code, station, institution or region")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name to recognise it by")] = None,
) -> None:
    """Register an API client and print its credentials as JSON (the secret is shown once)."""
    stack = Stack.open(get_settings())
    try:
        boot = run(stack.bootstrap())
        created = run(create_clients(boot, ((kind, bind, name or f"{kind.value} client"),)))[0]
    finally:
        stack.close()
    typer.echo(
        json.dumps({"client_id": created["client_id"], "client_secret": created["client_secret"]})
    )


def _set_enabled(client_id: str, enabled: bool) -> None:
    stack = Stack.open(get_settings())
    try:
        boot = run(stack.bootstrap())
        changed = run(set_client_enabled(boot, client_id, enabled))
    finally:
        stack.close()
    if changed is None:
        console.print(f"[red]no client {client_id}[/]")
        raise typer.Exit(1)
    typer.echo(json.dumps(changed))


@clients_app.command("disable")
def clients_disable(
    client_id: Annotated[str, typer.Argument(help="The client to disable")],
) -> None:
    """Disable an API client: no new tokens; gateways refuse its current ones within seconds."""
    _set_enabled(client_id, enabled=False)


@clients_app.command("enable")
def clients_enable(
    client_id: Annotated[str, typer.Argument(help="The client to enable again")],
) -> None:
    """Enable a disabled API client: it gets tokens again; gateways accept its unexpired ones
    within seconds."""
    _set_enabled(client_id, enabled=True)


@app.command()
def serve(
    name: Annotated[str, typer.Argument(help="gateway, enrollment, claims, stations or childcare")],
    host: str = "0.0.0.0",
    port: int | None = None,
    internal_port: Annotated[
        int | None,
        typer.Option(
            help="/metrics (and the gateway's revocation list): never publish it "
            "[default: YIBAO_INTERNAL_PORT, else the port + 1000]"
        ),
    ] = None,
) -> None:
    """Run one process in the foreground (containers: one process per container)."""
    spec = service(name)
    internal = internal_port or get_settings().internal_port_of(spec)
    run_process(spec, host, port or spec.port, internal)


class _Stop(Exception):
    """A stop signal arrived: unwind whatever step was running and shut down."""


@app.command()
def up(
    seed: Annotated[bool, typer.Option(help="Load demo data")] = True,
    port: Annotated[
        int, typer.Option(help="The gateway's port; the services take the next four")
    ] = GATEWAY.port,
) -> None:
    """Database, migrations, demo data and clients, then all five processes; Ctrl-C stops all.
    Each process's internal port (/metrics) is 1000 above its public one."""
    settings = get_settings()
    supervisor: Supervisor | None = None
    stack: Stack | None = None
    supervising = False
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if not supervising:
            # A long step (initdb, migrations, seeding) is cut short rather than finished.
            raise _Stop()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        with console.status("starting the database"):
            stack = Stack.open(settings)
        boot = _prepare(stack, seed=seed)
        credentials = run(
            ensure_demo_clients(boot, settings.data_dir.resolve() / "demo-clients.json")
        )
        console.print(f"[green]✓[/] demo clients ({len(DEMO_CLIENTS)} kinds): {credentials}")
        supervisor = Supervisor(
            boot,
            stack.keys(),
            ports=ports_from(port),
            internal_ports=ports_from(port + 1000),
            log_dir=settings.data_dir.resolve() / "logs",
            database=stack.embedded,
        )
        supervising = True
        with console.status("starting processes"):
            supervisor.start_all()
            for spec in ALL_PROCESSES:
                supervisor.wait_healthy(spec.name, stop=lambda: stopping)
        if not stopping:
            gateway = supervisor.url(GATEWAY.name)
            _wait_ready(gateway, stop=lambda: stopping)
            console.print(
                f"[green]✓[/] up: gateway [bold]{gateway}[/]  docs [bold]{gateway}/docs[/]"
            )
            console.print(
                f"  logs in {settings.data_dir.resolve() / 'logs'}; Ctrl-C stops everything"
            )
            print(gateway, flush=True)
        while not stopping:
            time.sleep(0.5)
            for event in supervisor.watch():
                if event.gave_up:
                    console.print(f"[red]✗[/] {event.name} {event.message}. Stopping.")
                    stopping = True
                else:
                    console.print(f"[yellow]![/] {event.name} {event.message}")
    except _Stop:
        pass
    finally:
        # From here on a second Ctrl-C must not interrupt the orderly shutdown.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if supervisor is not None:
            with console.status("stopping processes"):
                supervisor.stop_all()
        if stack is not None:
            stack.close()
        console.print("stopped")
    sys.exit(0)


def _wait_ready(
    gateway: str, timeout: float = 30.0, stop: Callable[[], bool] = lambda: False
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop():
        try:
            # "ok", not "degraded": the gateway and every service behind it answer.
            ready = httpx.get(f"{gateway}/readyz", timeout=2.0)
            if ready.status_code == 200 and ready.json().get("status") == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    console.print("[yellow]![/] the gateway is up but not yet ready")


if __name__ == "__main__":
    app()
