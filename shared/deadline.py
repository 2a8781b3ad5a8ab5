"""Each request's deadline, set where it enters and passed to every process it reaches.

The gateway gives a request its upstream timeout (less, if the client's ``X-Time-Left-Ms`` asks
for less) and sends what is left of it to the service in ``X-Time-Left-Ms``; each service sends
what is left of its own to the services it calls, and so on. Inside a process the deadline is
held in a context variable and bounds everything the request waits for: calls to other
processes (:mod:`shared.http`, retries included), pool acquisition and database statements, and
the commit, which a write makes only while time remains (:func:`ensure_time_to_commit`).

Two instants per request. By :attr:`Deadline.at` the work is done, retries given up and the
commit begun; by :attr:`Deadline.answer_by`, a little later, the process has answered, 504 if
the work is still running (:class:`Deadlines`). Both come before the caller stops waiting, so a
caller hears the callee's own answer instead of timing out, and a 503 or 504 means nothing was
recorded: a commit racing the deadline is the one exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import request_id_var
from shared.errors import DeadlineExceeded

log = logging.getLogger("yibao.deadline")

TIME_LEFT_HEADER = "X-Time-Left-Ms"
"""Milliseconds the caller will still wait for the answer."""
_TIME_LEFT = TIME_LEFT_HEADER.lower().encode()


def reserve(budget: float) -> float:
    """What a process keeps back from a budget of ``budget`` seconds: half for its answer to
    travel back, half for a commit begun just before :attr:`Deadline.at` to finish."""
    return min(max(budget * 0.1, 0.05), 0.5)


class Deadline:
    """A request's two instants (see the module's doc). A plain class: one is made for every
    request, and a frozen dataclass costs several times more to make."""

    __slots__ = ("answer_by", "at")

    def __init__(self, at: float, answer_by: float) -> None:
        self.at = at
        """``time.monotonic()`` by which work, retries and the commit's start are done."""
        self.answer_by = answer_by
        """``time.monotonic()`` by which the process answers, whatever is still running."""

    @classmethod
    def within(cls, budget: float, *, started: float | None = None) -> Deadline:
        started = time.monotonic() if started is None else started
        keep = reserve(budget)
        return cls(started + budget - keep, started + budget - keep / 2)

    def remaining(self) -> float:
        """Seconds left for work: calls to other processes, retries, the commit's start."""
        return self.at - time.monotonic()

    def answer_in(self) -> float:
        """Seconds left until the answer is due: the bound of a database statement."""
        return self.answer_by - time.monotonic()

    def wall_clock(self) -> datetime:
        """:attr:`at` as a time of day, for the database to check a commit against."""
        return datetime.now(UTC) + timedelta(seconds=self.remaining())


current_deadline: ContextVar[Deadline | None] = ContextVar("deadline", default=None)
"""The deadline of the request being served; None outside requests (background jobs)."""


def ensure_time_to_commit() -> None:
    """Called by every write just before it commits: past :attr:`Deadline.at` the write is
    rolled back and answered 504 rather than committed after its caller stopped waiting."""
    deadline = current_deadline.get()
    if deadline is not None and deadline.remaining() <= 0:
        raise DeadlineExceeded()


def statement_timeout() -> float | None:
    """The ``timeout`` of an asyncpg call made for the current request (None outside one)."""
    deadline = current_deadline.get()
    return None if deadline is None else deadline.answer_in()


def _time_left(scope: Scope) -> float | None:
    for name, value in scope["headers"]:
        if name == _TIME_LEFT:
            try:
                return max(int(value), 0) / 1000
            except ValueError:
                return None
    return None


class _Cycle:
    """One request in flight: what answering it 504 takes, and how far it has gone."""

    __slots__ = (
        "answer",
        "answer_by",
        "expired",
        "receive",
        "request_id",
        "scope",
        "send",
        "started",
        "task",
    )

    def __init__(
        self, answer_by: float, task: asyncio.Task[None], scope: Scope, receive: Receive, send: Send
    ) -> None:
        self.answer_by = answer_by
        self.task = task
        self.request_id = request_id_var.get()
        self.scope = scope
        self.receive = receive
        self.send = send
        self.started = False
        self.expired = False
        self.answer: asyncio.Task[None] | None = None


class Deadlines:
    """Pure ASGI: gives each HTTP request its :class:`Deadline` and keeps it.

    ``limit`` is the longest a request may take here; a caller's ``X-Time-Left-Ms`` shortens
    it, never lengthens it. Past :attr:`Deadline.answer_by` a request that has not begun its
    answer is cancelled and answered 504 from another task, so that a handler stuck in its
    clean-up (a rollback on a frozen database) cannot hold the answer back; the connection is
    then closed, since that handler may still hold it. One sweep every ``tick`` seconds finds
    such requests, rather than a timer per request: a timer set and cancelled on every request
    cost more than everything else here together (the answer comes up to ``tick`` late, well
    within the reserve kept for it).
    """

    def __init__(self, app: ASGIApp, *, limit: float, tick: float = 0.02) -> None:
        self.app = app
        self.limit = limit
        self.tick = tick
        self._running: dict[int, _Cycle] = {}
        self._sweeping: asyncio.TimerHandle | None = None
        self._sweeping_loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        asked = _time_left(scope)
        budget = self.limit if asked is None else min(asked, self.limit)
        deadline = Deadline.within(budget, started=started)
        token = current_deadline.set(deadline)
        task = asyncio.current_task()
        assert task is not None
        cycle = _Cycle(deadline.answer_by, task, scope, receive, send)

        async def send_in_time(message: Message) -> None:
            if cycle.expired:
                return  # the 504 went out instead
            if message["type"] == "http.response.start":
                cycle.started = True
            await send(message)

        key = id(cycle)
        self._running[key] = cycle
        self._sweep_soon()
        try:
            await self.app(scope, receive, send_in_time)
        except Exception:
            if not cycle.expired:
                raise
            log.debug("%s %s: failed after its 504", scope["method"], scope["path"], exc_info=True)
        except asyncio.CancelledError:
            if not cycle.expired:
                raise
        finally:
            del self._running[key]
            current_deadline.reset(token)
        if cycle.answer is not None:
            if task.cancelling():
                task.uncancel()  # the cancellation was this layer's own
            await cycle.answer

    def _sweep_soon(self) -> None:
        loop = asyncio.get_running_loop()
        if self._sweeping is None or self._sweeping_loop is not loop:
            self._sweeping_loop = loop
            self._sweeping = loop.call_later(self.tick, self._sweep)

    def _sweep(self) -> None:
        self._sweeping = None
        now = time.monotonic()
        for cycle in list(self._running.values()):
            if now >= cycle.answer_by and not cycle.started and not cycle.expired:
                self._expire(cycle)
        if self._running:
            self._sweep_soon()

    @staticmethod
    def _expire(cycle: _Cycle) -> None:
        cycle.expired = True
        cycle.task.cancel()
        cycle.answer = asyncio.get_running_loop().create_task(_answer(cycle))


async def _answer(cycle: _Cycle) -> None:
    request_id_var.set(cycle.request_id)  # this task's own context: the problem names it
    scope = cycle.scope
    log.warning("%s %s: out of time, answered 504", scope["method"], scope["path"])
    response = DeadlineExceeded().to_response()
    response.headers["Connection"] = "close"
    with contextlib.suppress(OSError):  # the caller may be gone too
        await response(scope, cycle.receive, cycle.send)
