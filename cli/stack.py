"""The database side of bringing the system up: server, roles, migrations, demo data, clients."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import ClientKind, generate_keypair
from shared.db import Database, database_of, with_database
from shared.dbadmin import Bootstrap, bootstrap
from shared.migrations import upgrade
from shared.settings import Settings
from shared.topology import ALL_PROCESSES, GATEWAY, SERVICES, ServiceSpec

log = logging.getLogger("yibao.cli")

DEMO_DATABASE = "yibao"

DEMO_CLIENTS: tuple[tuple[ClientKind, str | None, str], ...] = (
    (ClientKind.admin, None, "Demo bureau staff"),
    (ClientKind.app, None, "Demo mobile app backend"),
    (ClientKind.institution, "H37160200001", "Demo hospital"),
    (ClientKind.pharmacy, "P37160200007", "Demo pharmacy"),
    (ClientKind.station, "1", "Demo service station"),
    (ClientKind.childcare_operator, "1", "Demo childcare operator"),
    (ClientKind.childcare_reviewer, "371602", "Demo childcare reviewer, Bincheng"),
)


START_LOCK = "yibao-start.lock"
"""The file of the lock :class:`EmbeddedServer` starts under, beside pgserver's own."""


class EmbeddedServer:
    """The embedded PostgreSQL (pgserver), data kept under the data folder across restarts.

    Started under an inter-process lock of our own, machine-wide: run as root, pgserver creates
    its system user (``useradd pgserver``) before it takes its own lock, so two processes
    starting at once on a new machine (two test workers) raced there, and the loser's initdb
    failed. Under this lock the first creates the user, initialises and starts the server; the
    others wait, then find it running.
    """

    name = "database"

    def __init__(self, data_dir: Path) -> None:
        import fasteners
        import pgserver  # imported here: production never loads it
        from pgserver.postgres_server import PostgresServer

        self.pgdata = (data_dir / "pg").resolve()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with fasteners.InterProcessLock(PostgresServer.runtime_path / START_LOCK):
            _forget_dead_handles(self.pgdata)
            self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")

    def url(self, database: str = DEMO_DATABASE) -> str:
        return with_database(self._server.get_uri(), database)

    def pid(self) -> int | None:
        """The postmaster's process ID while it runs (pg_ctl starts it detached, so it is
        watched through its lock file, not as a child). A killed postmaster can linger as a
        zombie until its new parent reaps it: that is not running."""
        import psutil
        from pgserver.utils import PostmasterInfo

        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (AssertionError, ValueError):
            return None  # the file half written: a server starting, not yet one running
        if info is None or info.process is None:
            return None
        try:
            if info.process.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            return None
        return info.pid

    def alive(self) -> bool:
        return self.pid() is not None

    def start(self) -> None:
        """Starts the server again after it stopped (a crash, a kill -9): PostgreSQL recovers
        from its write-ahead log. Raises while the dead server's processes are still going
        away (or hold its shared memory); the supervisor tries again later.

        Without pgserver's lock, which is one for every server on the machine: under it a
        restart waited up to half a minute behind other processes starting theirs (test runs).
        Two starts of this one cannot both succeed: PostgreSQL's own postmaster.pid decides."""
        # pgserver logs the whole server log on a failed start; the supervisor reports it.
        quiet = logging.getLogger("pgserver")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            self._server.ensure_postgres_running()
        finally:
            quiet.setLevel(level)
        if not self.alive():  # pgserver took the dying postmaster for a running one
            raise RuntimeError("the stopped server's postmaster has not exited yet")

    def stop(self) -> None:
        self._server.cleanup()


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the server when the last process holding it exits, counting the PIDs
    in a file it never prunes: one unclean exit would keep the server running for good.

    Pruned under pgserver's own inter-process lock: unlocked, a process starting beside this
    one (two test workers) could register its PID between the read and the write here, lose
    it, and have the server stopped under it when this one exits."""
    import fasteners
    import psutil
    from pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with fasteners.InterProcessLock(PostgresServer.lock_path):
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


@dataclass
class Stack:
    settings: Settings
    admin_url: str
    embedded: EmbeddedServer | None

    @classmethod
    def open(cls, settings: Settings) -> Stack:
        if settings.database_url:
            url = settings.database_url
            # A server URL naming the maintenance database means "this server": our data
            # goes into a database of its own, never into postgres itself.
            if database_of(url) == "postgres":
                url = with_database(url, DEMO_DATABASE)
            return cls(settings, url, None)
        if settings.is_production:
            raise RuntimeError(
                "production needs YIBAO_DATABASE_URL; the embedded server is for development"
            )
        embedded = EmbeddedServer(settings.data_dir)
        return cls(settings, embedded.url(), embedded)

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()

    async def bootstrap(self) -> Bootstrap:
        return await bootstrap(self.admin_url, role_password=self.settings.db_role_password)

    def keys(self) -> tuple[Path, Path]:
        """The JWT key files the processes are given: the configured ones, or development
        keys made once under the data folder — never in production."""
        settings = self.settings
        if settings.jwt_private_key_file and settings.jwt_public_key_file:
            return settings.jwt_private_key_file, settings.jwt_public_key_file
        if settings.is_production:
            raise RuntimeError("production needs YIBAO_JWT_PRIVATE_KEY_FILE and _PUBLIC_KEY_FILE")
        return generate_keypair(settings.data_dir.resolve() / "keys")


def migrate_all(boot: Bootstrap, on_done: Callable[[str], None] = lambda _: None) -> None:
    for spec in ALL_PROCESSES:
        upgrade(spec, boot.url_for(spec))
        on_done(spec.name)


def demo_links() -> dict[str, dict[str, Any]]:
    """What one service's demo data takes from another's, so the demo city agrees with itself:
    pharmacies' payment standards are the claims catalog's. The services share no tables; the
    command that seeds them all passes the values along."""
    from services.claims.catalog import demo_drugs

    standards = {
        str(row["code"]): row["payment_standard"]
        for row in demo_drugs()
        if str(row["code"]).startswith("XA")
    }
    return {"stations": {"payment_standards": standards}}


@asynccontextmanager
async def _transaction(boot: Bootstrap, spec: ServiceSpec) -> AsyncIterator[AsyncSession]:
    """One transaction in ``spec``'s schema, as its own role, on a connection of its own."""
    database = Database(boot.url_for(spec), schema=spec.schema, pool_size=1)
    try:
        async with database.sessions() as session, session.begin():
            yield session
    finally:
        await database.dispose()


async def seed_all(
    boot: Bootstrap,
    on_done: Callable[[str, str], None] = lambda *_: None,
    only: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Every service's demo data; or only the services named in ``only``, each seeded with
    the options given there (``{"enrollment": {"persons": 300}}``)."""
    links = demo_links()
    for spec in SERVICES:
        if only is not None and spec.name not in only:
            continue
        options = {**links.get(spec.name, {}), **(only or {}).get(spec.name, {})}
        module = importlib.import_module(f"{spec.package}.seed")
        async with _transaction(boot, spec) as session:
            summary = await module.seed(session, **options)
        on_done(spec.name, summary)


async def set_client_enabled(
    boot: Bootstrap, client_id: str, enabled: bool
) -> dict[str, Any] | None:
    """Disables or enables a client; ``{client_id, disabled_at}`` after, or None if there is
    no such client."""
    from gateway.service import disable_client, enable_client
    from shared.errors import NotFound

    change = enable_client if enabled else disable_client
    async with _transaction(boot, GATEWAY) as session:
        try:
            client = await change(session, client_id)
        except NotFound:
            return None
        disabled_at = client.disabled_at.isoformat() if client.disabled_at else None
        return {"client_id": client.client_id, "disabled_at": disabled_at}


async def create_clients(
    boot: Bootstrap, wanted: tuple[tuple[ClientKind, str | None, str], ...]
) -> list[dict[str, Any]]:
    from gateway.service import create_client

    async with _transaction(boot, GATEWAY) as session:
        out = []
        for kind, bound, name in wanted:
            new = await create_client(session, kind, bound, name)
            out.append(
                {
                    "client_id": new.client_id,
                    "client_secret": new.client_secret,
                    "kind": kind.value,
                    "bound": bound,
                    "name": name,
                }
            )
        return out


async def ensure_demo_clients(boot: Bootstrap, path: Path) -> Path:
    """Creates the demo clients once; keeps them while the database still knows them."""
    from gateway.models import ApiClient

    if path.exists():
        known = json.loads(path.read_text())
        async with _transaction(boot, GATEWAY) as session:
            ids = set(await session.scalars(select(ApiClient.client_id)))
        if all(c["client_id"] in ids for c in known):
            return path
    clients = await create_clients(boot, DEMO_CLIENTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clients, indent=2, ensure_ascii=False) + "\n")
    path.chmod(0o600)
    return path


def run(coro: Any) -> Any:
    return asyncio.run(coro)
