"""Alembic, one history per process, each kept in its own schema's ``alembic_version``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import to_asyncpg_url, to_libpq_url
from shared.topology import ServiceSpec


def migrations_dir(spec: ServiceSpec) -> Path:
    root = Path(__file__).resolve().parent.parent
    base = root / "gateway" if spec.name == "gateway" else root / "services" / spec.name
    return base / "migrations"


def alembic_config(spec: ServiceSpec, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(spec)))
    config.set_main_option("sqlalchemy.url", to_asyncpg_url(url).replace("%", "%%"))
    config.attributes["schema"] = spec.schema
    return config


def upgrade(spec: ServiceSpec, url: str, revision: str = "head") -> None:
    """Synchronous: alembic's env runs its own event loop. Call from a thread inside async code."""
    command.upgrade(alembic_config(spec, url), revision)


def _scripts(spec: ServiceSpec) -> ScriptDirectory:
    """The service's migration scripts, read from the files: no database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(spec)))
    return ScriptDirectory.from_config(config)


def head_revisions(spec: ServiceSpec) -> frozenset[str]:
    """The head(s) of the service's migration scripts."""
    return frozenset(_scripts(spec).get_heads())


async def schema_revisions(spec: ServiceSpec, url: str) -> frozenset[str] | None:
    """What the schema's ``alembic_version`` holds; None while it cannot be read yet.

    "Cannot be read" covers a server still starting, a role ``yibao migrate`` has not created
    yet and a schema without the table: all mean "not migrated yet" to someone waiting.
    """
    try:
        conn = await asyncpg.connect(to_libpq_url(url), timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return None
    try:
        rows = await conn.fetch(f'select version_num from "{spec.schema}".alembic_version')
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()
    return frozenset(row["version_num"] for row in rows)


def known_revisions(spec: ServiceSpec) -> frozenset[str]:
    """Every revision of the service's migration scripts."""
    return frozenset(r.revision for r in _scripts(spec).walk_revisions())


async def at_head(spec: ServiceSpec, url: str) -> tuple[bool, frozenset[str] | None]:
    """Whether the schema is at the scripts' head(s) or past them, and the revisions it is at.

    Past them means a revision these scripts do not know: a newer release has migrated the
    schema while this one still runs (an old pod restarting mid-rollout, or a rollback). Its
    migrations are backward compatible for one release, so this version may serve on it.
    """
    current = await schema_revisions(spec, url)
    if not current:
        return False, current
    return current == head_revisions(spec) or not current <= known_revisions(spec), current


def run_env(metadata: MetaData) -> None:
    """The body of every ``migrations/env.py``: online migrations over asyncpg."""
    config = context.config
    schema: str = config.attributes["schema"]
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=False,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(
            url,
            poolclass=pool.NullPool,
            connect_args={"server_settings": {"search_path": schema}},
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, version_table_schema=schema)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run())
