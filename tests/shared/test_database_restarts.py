"""A serving process's pools after the database dropped their connections (it restarted):
the next request gets a new connection, not an error."""

import asyncio

import asyncpg
from sqlalchemy import text

from shared.db import Database, DbTimeouts, to_libpq_url
from shared.topology import service


async def test_a_connection_the_server_closed_is_replaced_at_checkout(database):
    db = Database(
        database.url_for(service("childcare")),
        schema="childcare",
        pool_size=1,
        max_overflow=0,
        timeouts=DbTimeouts(connect=2.0, request=5.0),
    )
    try:
        async with db.engine.connect() as conn:
            pid = await conn.scalar(text("select pg_backend_pid()"))
        # What a restart does to every pooled connection, done to this one alone.
        admin = await asyncpg.connect(to_libpq_url(database.admin_url))
        try:
            assert await admin.fetchval("select pg_terminate_backend($1)", pid)
            gone = "select not exists (select from pg_stat_activity where pid = $1)"
            for _ in range(250):
                if await admin.fetchval(gone, pid):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)  # the pooled connection reads its end of the socket
        finally:
            await admin.close()
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("select pg_backend_pid()")) != pid
    finally:
        await db.dispose()
