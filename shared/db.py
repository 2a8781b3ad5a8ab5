"""Async engine and one session, one transaction per request.

Each service process connects as its own role whose ``search_path`` is its own schema, so
models name tables without a schema and a query on another service's tables fails on
permissions (see :mod:`shared.dbadmin`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import asyncpg
from asyncpg.exceptions import InternalClientError
from fastapi import Depends, Request
from sqlalchemy import MetaData, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.deadline import ensure_time_to_commit

if TYPE_CHECKING:
    from shared.settings import Settings

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


@dataclass(frozen=True, slots=True)
class DbTimeouts:
    """The bounds of a serving process's database pools (SQLAlchemy's and the asyncpg hot
    paths' alike), so a database that is down, frozen or overloaded costs a request its
    deadline at most, never a hang. Within them each request is bounded by its own deadline
    (:mod:`shared.deadline`); these hold where a request's own bound cannot reach (a
    connection's clean-up, a client gone mid-transaction)."""

    connect: float
    """Seconds to connect."""
    request: float
    """The longest request: waiting for a pooled connection, a statement on the server, a
    client command and a transaction left idle are each cut off past it."""

    @classmethod
    def of(cls, settings: Settings) -> DbTimeouts:
        return cls(settings.db_connect_timeout_seconds, settings.upstream_timeout_seconds)

    def asyncpg_options(self) -> dict[str, Any]:
        """Connection arguments for asyncpg (``timeout`` is its connect timeout)."""
        milliseconds = str(int(self.request * 1000))
        return {
            "timeout": self.connect,
            "command_timeout": self.request,
            "server_settings": {
                "statement_timeout": milliseconds,
                # A client frozen or gone mid-transaction holds its locks no longer than this.
                "idle_in_transaction_session_timeout": milliseconds,
            },
        }


def _connect_args(
    schema: str | None, timeouts: DbTimeouts | None, given: dict[str, Any]
) -> dict[str, Any]:
    bounded = timeouts.asyncpg_options() if timeouts else {}
    connect_args = {**bounded, **given}
    server_settings = {**bounded.get("server_settings", {}), **given.get("server_settings", {})}
    if schema is not None:
        # Also set on the role by dbadmin; repeated here for servers where roles are shared.
        server_settings["search_path"] = schema
    if server_settings:
        connect_args["server_settings"] = server_settings
    return connect_args


def _skip_closed_connections(engine: AsyncEngine) -> None:
    """A pooled connection the server closed (it restarted) is replaced at checkout, without
    a round trip: after a database restart no request meets a dead connection it was handed."""

    @event.listens_for(engine.sync_engine, "checkout")
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if dbapi_connection._connection.is_closed():
            raise DisconnectionError("the server closed this connection")


class Database:
    """The engine and session factory of one process. ``timeouts`` bound a serving process's
    pools; the command line's (migrations, bulk loads) run without them."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        read_url: str | None = None,
        pool_size: int = 10,
        max_overflow: int = 10,
        timeouts: DbTimeouts | None = None,
        **kwargs: Any,
    ):
        connect_args = _connect_args(schema, timeouts, kwargs.pop("connect_args", {}))
        if timeouts is not None:
            kwargs.setdefault("pool_timeout", timeouts.request)
        self.engine: AsyncEngine = create_async_engine(
            to_asyncpg_url(url),
            connect_args=connect_args,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=False,
            pool_recycle=1800,
            **kwargs,
        )
        _skip_closed_connections(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine: AsyncEngine = self.engine
        if read_url:
            self.read_engine = create_async_engine(
                to_asyncpg_url(read_url),
                connect_args=connect_args,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_recycle=1800,
                **kwargs,
            )
            _skip_closed_connections(self.read_engine)
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


async def hot_path_pool(
    url: str,
    *,
    schema: str,
    timeouts: DbTimeouts,
    max_size: int,
    reset: Callable[[asyncpg.Connection], Awaitable[None]],
    server_settings: Mapping[str, str] | None = None,
) -> asyncpg.Pool:
    """A plain asyncpg pool for a service's hot path, with the bounds of :class:`DbTimeouts`.
    Each use is bounded by the request's deadline besides: take connections with
    :class:`HotConnection` and pass :func:`shared.deadline.statement_timeout` as each call's
    ``timeout``."""
    options = timeouts.asyncpg_options()
    pool: asyncpg.Pool = await asyncpg.create_pool(
        to_libpq_url(url),
        min_size=1,
        max_size=max_size,
        reset=reset,
        timeout=options["timeout"],
        command_timeout=options["command_timeout"],
        server_settings={
            **options["server_settings"],
            "search_path": schema,
            **(server_settings or {}),
        },
    )
    return pool


_UNKNOWN_STATE = (asyncpg.InterfaceError, InternalClientError, asyncpg.PostgresConnectionError)


class HotConnection:
    """A connection of a hot path's pool. One that fails in a way that leaves its state unknown
    (the server lost in the middle of an exchange) is closed instead of going back to the pool
    for the next request. (A class rather than a generator: it is on the path of every
    eligibility read.)

    The wait for it is bounded by the request's deadline (:class:`shared.deadline.Deadlines`
    cancels what is still waiting), not by asyncpg's own ``timeout``: that one wraps every
    acquisition in a task of its own, a fifth of the client's cost of a statement here."""

    __slots__ = ("_acquiring", "_connection")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._acquiring = pool.acquire()

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection: asyncpg.Connection = await self._acquiring.__aenter__()
        return self._connection

    async def __aexit__(self, kind: Any, exc: BaseException | None, trace: Any) -> None:
        if isinstance(exc, _UNKNOWN_STATE):
            self._connection.terminate()
        await self._acquiring.__aexit__(kind, exc, trace)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session; commits once when the route returns, rolls back if it raised.

    Declared with ``scope="function"`` so the commit happens before the response is sent: a
    client never sees a 2xx for a write that then failed to commit. Past the request's deadline
    it rolls back and answers 504 instead of committing: the caller has stopped waiting and was
    told nothing was recorded.
    """
    database = get_database(request)
    async with database.sessions() as session, session.begin():
        yield session
        ensure_time_to_commit()


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
