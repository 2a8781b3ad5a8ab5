"""Each request's deadline: taken from X-Time-Left-Ms (never longer than the process's limit),
answered 504 when the work overruns it, and no write committed past it."""

import asyncio
import time
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.db import Database, DbSession, DbTimeouts
from shared.deadline import TIME_LEFT_HEADER, Deadline, Deadlines, current_deadline
from shared.errors import install_error_handlers
from shared.topology import service


@pytest.fixture(scope="module")
async def app_and_db(database):
    db = Database(
        database.url_for(service("enrollment")),
        schema="enrollment",
        pool_size=2,
        timeouts=DbTimeouts(connect=2.0, request=5.0),
    )
    table = f"t_{uuid.uuid4().hex[:8]}"
    async with db.engine.begin() as conn:
        await conn.execute(text(f"create table {table} (v text primary key)"))
    app = FastAPI()
    app.state.database = db
    install_error_handlers(app)

    @app.post("/late/{v}")
    async def late(v: str, session: DbSession) -> dict[str, str]:
        await session.execute(text(f"insert into {table} values (:v)"), {"v": v})
        deadline = current_deadline.get()
        assert deadline is not None
        # Past the time for work, before the time to answer: only the commit is left.
        await asyncio.sleep(deadline.remaining() + 0.005)
        return {"v": v}

    @app.get("/left")
    async def left() -> dict[str, float]:
        deadline = current_deadline.get()
        assert deadline is not None
        return {"remaining": deadline.remaining(), "answer_in": deadline.answer_in()}

    @app.get("/stuck")
    async def stuck() -> dict[str, str]:
        # A handler whose clean-up outlives the deadline (a rollback on a frozen database).
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.shield(asyncio.sleep(0.5))
        return {}

    yield Deadlines(app, limit=3.0), db, table
    async with db.engine.begin() as conn:
        await conn.execute(text(f"drop table {table}"))
    await db.dispose()


def client_of(asgi) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t")


async def test_a_write_that_reaches_its_commit_past_the_deadline_is_rolled_back(app_and_db):
    asgi, db, table = app_and_db
    async with client_of(asgi) as c:
        answer = await c.post("/late/x", headers={TIME_LEFT_HEADER: "1000"})
    assert answer.status_code == 504
    assert answer.headers["content-type"] == "application/problem+json"
    assert "nothing was recorded" in answer.json()["detail"]
    async with db.engine.connect() as conn:
        assert (await conn.execute(text(f"select count(*) from {table}"))).scalar_one() == 0


async def test_the_time_left_shortens_the_limit_and_never_lengthens_it(app_and_db):
    asgi, _, _ = app_and_db
    async with client_of(asgi) as c:
        asked = (await c.get("/left", headers={TIME_LEFT_HEADER: "800"})).json()
        longer = (await c.get("/left", headers={TIME_LEFT_HEADER: "999999"})).json()
        none = (await c.get("/left")).json()
    # Some is kept back for the answer's way home: the work ends first, the answer a bit after.
    assert 0.5 < asked["remaining"] < asked["answer_in"] < 0.8
    assert 2.5 < longer["remaining"] < 3.0
    assert 2.5 < none["remaining"] < 3.0


async def test_work_past_the_deadline_is_answered_504_without_waiting_for_its_clean_up(app_and_db):
    asgi, _, _ = app_and_db
    sent: list[tuple[float, dict]] = []

    async def send(message: dict) -> None:
        sent.append((time.monotonic(), message))

    async def receive() -> dict:
        await asyncio.sleep(60)
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/stuck",
        "raw_path": b"/stuck",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"x-time-left-ms", b"300")],
        "client": ("127.0.0.1", 1234),
        "server": ("t", 80),
    }
    started = time.monotonic()
    await asgi(scope, receive, send)
    finished = time.monotonic()
    (answered, start), (_, body) = sent
    assert start["status"] == 504
    assert (b"connection", b"close") in start["headers"]  # the stuck handler may still hold it
    assert b"nothing was recorded" in body["body"]
    assert answered - started < 0.35  # its answer_by, and the sweep that found it
    assert finished - answered > 0.4  # the handler's clean-up went on after the answer


def test_a_deadline_keeps_time_back_for_the_answer():
    deadline = Deadline.within(5.0)
    assert 4.4 < deadline.remaining() < deadline.answer_in() < 5.0
    short = Deadline.within(0.2)
    assert 0.1 < short.remaining() < short.answer_in() < 0.2
