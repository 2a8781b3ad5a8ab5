"""Alembic, one history per process, each kept in its own schema's ``alembic_version``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import to_asyncpg_url
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
