"""Server-side setup done with an admin URL: the database, one role and one schema per process.

Each process's role owns its schema and has no usage on the others, so a query from one service
on another's tables fails with "permission denied" — the database enforces what the design says.
Where the admin may not create roles (a managed server that forbids it), every process falls
back to the admin's role and only ``search_path`` keeps them apart; :func:`bootstrap` says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from shared.db import database_of, to_libpq_url, with_database, with_user
from shared.topology import ALL_PROCESSES, ServiceSpec

log = logging.getLogger("yibao.dbadmin")


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe identifier {name!r}")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(to_libpq_url(url))


async def ensure_database(admin_url: str) -> None:
    """Creates the URL's database if it is missing (connecting to ``postgres`` to do so)."""
    name = database_of(admin_url)
    conn = await _connect(with_database(admin_url, "postgres"))
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await conn.execute(f"create database {_ident(name)}")
            log.info("created database %s", name)
    finally:
        await conn.close()


async def drop_database(admin_url: str) -> None:
    name = database_of(admin_url)
    conn = await _connect(with_database(admin_url, "postgres"))
    try:
        await conn.execute(f"drop database if exists {_ident(name)} with (force)")
    finally:
        await conn.close()


@dataclass(frozen=True, slots=True)
class Bootstrap:
    admin_url: str
    separate_roles: bool
    role_password: str | None

    def url_for(self, spec: ServiceSpec) -> str:
        """The URL the process of ``spec`` connects with."""
        if not self.separate_roles:
            return self.admin_url
        return with_user(self.admin_url, spec.db_role, self.role_password)


ROLES_LOCK = 71600
"""Advisory lock key held while roles are made (in the ``postgres`` database: see below)."""


async def _ensure_roles(
    admin_url: str, processes: tuple[ServiceSpec, ...], role_password: str | None
) -> None:
    """Each process's login role. Roles belong to the whole server, but an advisory lock only
    to one database: taken in each bootstrap's own database, two bootstraps of two databases
    at once (two test workers) both altered a role, and one failed ("tuple concurrently
    updated"). So the lock is taken in ``postgres``, which every bootstrap shares."""
    conn = await _connect(with_database(admin_url, "postgres"))
    try:
        await conn.execute("select pg_advisory_lock($1)", ROLES_LOCK)
        for spec in processes:
            exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", spec.db_role)
            password = f" password {_literal(role_password)}" if role_password else ""
            verb = "alter" if exists else "create"
            await conn.execute(f"{verb} role {_ident(spec.db_role)} login{password}")
    finally:
        await conn.close()  # ends the session, and its lock with it


async def bootstrap(
    admin_url: str,
    *,
    role_password: str | None = None,
    processes: tuple[ServiceSpec, ...] = ALL_PROCESSES,
) -> Bootstrap:
    """Idempotent: database, roles and schemas, each process's role owning only its schema."""
    await ensure_database(admin_url)
    db = database_of(admin_url)
    conn = await _connect(admin_url)
    try:
        can_create_roles = await conn.fetchval(
            "select rolsuper or rolcreaterole from pg_roles where rolname = current_user"
        )
        if can_create_roles:
            await _ensure_roles(admin_url, processes, role_password)
        else:
            log.warning("the admin role may not create roles: every service shares it")
        # Nobody but the owners may create objects in public or use the other schemas.
        await conn.execute("revoke create on schema public from public")
        for spec in processes:
            schema = _ident(spec.schema)
            if can_create_roles:
                role = _ident(spec.db_role)
                await conn.execute(f"grant connect, temporary on database {_ident(db)} to {role}")
                await conn.execute(f"create schema if not exists {schema} authorization {role}")
                await conn.execute(f"alter schema {schema} owner to {role}")
                await conn.execute(
                    f"alter role {role} in database {_ident(db)} set search_path = {schema}"
                )
            else:
                await conn.execute(f"create schema if not exists {schema}")
            await conn.execute(f"revoke all on schema {schema} from public")
    finally:
        await conn.close()
    return Bootstrap(admin_url, bool(can_create_roles), role_password)
