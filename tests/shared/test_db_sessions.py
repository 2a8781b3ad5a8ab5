"""One session and one transaction per request: committed before the response, or nothing."""

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.db import Database, DbSession, ReadSession
from shared.errors import Conflict, install_error_handlers
from shared.topology import service


@pytest.fixture(scope="module")
async def app_and_db(database):
    db = Database(database.url_for(service("enrollment")), schema="enrollment", pool_size=2)
    table = f"t_{uuid.uuid4().hex[:8]}"
    async with db.engine.begin() as conn:
        await conn.execute(text(f"create table {table} (v text primary key)"))
    app = FastAPI()
    app.state.database = db
    install_error_handlers(app)

    @app.post("/ok/{v}")
    async def ok(v: str, session: DbSession) -> dict[str, str]:
        await session.execute(text(f"insert into {table} values (:v)"), {"v": v})
        return {"v": v}

    @app.post("/fail/{v}")
    async def fail(v: str, session: DbSession) -> dict[str, str]:
        await session.execute(text(f"insert into {table} values (:v)"), {"v": v})
        raise Conflict("changed my mind")

    @app.post("/raw/{v}")
    async def raw(v: str, session: DbSession) -> dict[str, str]:
        # No domain check first: the database's own constraint must still answer 409.
        await session.execute(text(f"insert into {table} values (:v)"), {"v": v})
        await session.flush()
        return {"v": v}

    @app.get("/count")
    async def count(session: ReadSession) -> dict[str, int]:
        return {"n": (await session.execute(text(f"select count(*) from {table}"))).scalar_one()}

    yield app, db, table
    async with db.engine.begin() as conn:
        await conn.execute(text(f"drop table {table}"))
    await db.dispose()


async def test_a_2xx_means_committed_and_an_error_means_nothing_written(app_and_db):
    app, db, table = app_and_db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/ok/a")).status_code == 200
        # Seen from another connection as soon as the response is out.
        async with db.engine.connect() as conn:
            assert (await conn.execute(text(f"select v from {table}"))).scalars().all() == ["a"]
        failed = await c.post("/fail/b")
        assert failed.status_code == 409
        assert failed.headers["content-type"] == "application/problem+json"
        assert (await c.get("/count")).json() == {"n": 1}


async def test_a_constraint_violation_is_a_409_problem_not_a_500(app_and_db):
    app, _, _ = app_and_db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/raw/dup")).status_code == 200
        again = await c.post("/raw/dup")
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
