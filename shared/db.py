"""Async engine and one session, one transaction per request.

Each service process connects as its own role whose ``search_path`` is its own schema, so
models name tables without a schema and a query on another service's tables fails on
permissions (see :mod:`shared.dbadmin`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import Depends, Request
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """Each service declares its own base with this, so its metadata holds only its tables::

    class Base(DeclarativeBase):
        metadata = service_metadata()
    """
    return MetaData(naming_convention=NAMING_CONVENTION)


def to_asyncpg_url(url: str) -> str:
    """``postgresql://…`` (libpq style, as operators write it) → SQLAlchemy's asyncpg URL."""
    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        scheme = scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://…")
    return f"postgresql+asyncpg://{rest}"


def to_libpq_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server and database as ``url``, logged in as ``user``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    # Quoted: a password may hold @, : or /, which would otherwise break the URL.
    netloc = (
        quote(user, safe="") + (f":{quote(password, safe='')}" if password else "") + "@" + host
    )
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    """The same server and user as ``url``, on another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class Database:
    """The engine and session factory of one process."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        read_url: str | None = None,
        pool_size: int = 10,
        max_overflow: int = 10,
        **kwargs: Any,
    ):
        connect_args: dict[str, Any] = kwargs.pop("connect_args", {})
        if schema is not None:
            # Also set on the role by dbadmin; repeated here for servers where roles are shared.
            connect_args.setdefault("server_settings", {})["search_path"] = schema
        self.engine: AsyncEngine = create_async_engine(
            to_asyncpg_url(url),
            connect_args=connect_args,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=False,
            pool_recycle=1800,
            **kwargs,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine: AsyncEngine = (
            create_async_engine(
                to_asyncpg_url(read_url),
                connect_args=connect_args,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_recycle=1800,
            )
            if read_url
            else self.engine
        )
        # Reads run in autocommit: no BEGIN/COMMIT round trips on the hot read paths, and a
        # replica (read_url) can serve them.
        self.read_sessions = async_sessionmaker(
            self.read_engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
        )

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session; commits once when the route returns, rolls back if it raised.

    Declared with ``scope="function"`` so the commit happens before the response is sent: a
    client never sees a 2xx for a write that then failed to commit.
    """
    database = get_database(request)
    async with database.sessions() as session, session.begin():
        yield session


DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
"""The one session (and transaction) of a request."""


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).read_sessions() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
"""A session for reads only (autocommit; a read replica where one is configured).

Kept apart from :data:`DbSession` so a route's signature says it changes nothing, and so public
searches can be moved to replicas by configuration alone.
"""
