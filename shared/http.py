"""The one upstream HTTP class: every call one of our processes makes to another.

The services' clients (``services/*/clients/``) and the gateway's forwarding both go through
:class:`Upstream`, so the rules are written once:

- A call is bounded by the request's deadline (:mod:`shared.deadline`) and tells the upstream
  what is left of it (``X-Time-Left-Ms``); idempotent calls are retried, with jittered backoff,
  only while time is left.
- A circuit breaker per upstream opens on the upstream's own unavailability: a refused or reset
  connection, or no answer within the time it was given (a healthy process answers within it,
  504 if need be). An answer never counts against it, not even a 503 the upstream gives because
  one of *its* dependencies is down: that would cut off every route of a process for the
  failure of one. While open, calls fail at once with a 503.
- Failures are :class:`~shared.errors.UpstreamUnavailable` (503) or
  :class:`~shared.errors.UpstreamTimeout` (504); the clients also raise the upstream's 5xx
  answers as those, the gateway passes every answer on as it came.

Every call carries the current request ID. Over the network it speaks aiohttp directly: with
httpx's request and response models the forwarding cost several times more (see the README);
tests put an httpx transport in its place (the services in-process, or a mock).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol

import aiohttp
import httpx
import orjson
from multidict import CIMultiDict
from yarl import URL

from shared.context import request_id_var
from shared.deadline import TIME_LEFT_HEADER, Deadline, current_deadline
from shared.errors import UpstreamTimeout, UpstreamUnavailable
from shared.metrics import Metrics, UpstreamTimer, status_outcome

log = logging.getLogger("yibao.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRIED_ANSWERS = frozenset({502, 503})
"""Answers an idempotent call is retried on, while time is left. Not a 504: the upstream spent
the time it was given, and a retry would have less."""
_SHORTEST_CALL = 0.02
"""Seconds below which a call is not worth making: the upstream could not answer in time."""


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``reset_seconds`` lets one call
    through (half-open) and closes again when it succeeds. While open, calls fail at once
    instead of waiting out a timeout against a service that is down."""

    def __init__(self, name: str, threshold: int = 5, reset_seconds: float = 2.0) -> None:
        self.name = name
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.failures = 0
        self.opened_at: float | None = None
        self._probe_started: float | None = None

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.closed
        if time.monotonic() - self.opened_at >= self.reset_seconds:
            return BreakerState.half_open
        return BreakerState.open

    def allow(self) -> bool:
        state = self.state
        if state is BreakerState.closed:
            return True
        if state is BreakerState.open:
            return False
        now = time.monotonic()
        # One probe at a time; a probe that never reported back (cancelled, crashed) is
        # given up after reset_seconds so the circuit cannot stay stuck open.
        if self._probe_started is None or now - self._probe_started >= self.reset_seconds:
            self._probe_started = now
            return True
        return False

    def record_success(self) -> None:
        if self.opened_at is not None:
            log.info("circuit to %s closed", self.name)
        self.failures = 0
        self.opened_at = None
        self._probe_started = None

    def record_failure(self) -> None:
        self.failures += 1
        self._probe_started = None
        if self.opened_at is not None or self.failures >= self.threshold:
            if self.opened_at is None:
                log.warning("circuit to %s opened after %d failures", self.name, self.failures)
            self.opened_at = time.monotonic()


class Answer:
    """An upstream's answer: status, headers as received, body."""

    __slots__ = ("content", "raw_headers", "status_code")

    def __init__(
        self, status_code: int, raw_headers: Sequence[tuple[bytes, bytes]], content: bytes
    ) -> None:
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.content = content

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.raw_headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def json(self) -> Any:
        return orjson.loads(self.content)


class Unreachable(Exception):
    """The connection was refused, reset or closed before an answer came."""


class Transport(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        headers: CIMultiDict[str],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109 - each call's own, from the deadline
    ) -> Answer:
        """The answer, or :class:`TimeoutError` / :class:`Unreachable`."""
        ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """The network: one aiohttp connection pool per upstream. Bodies pass through as encoded
    (the gateway forwards them; the clients ask for no encoding)."""

    def __init__(self, *, connect_timeout: float, max_connections: int) -> None:
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _pool(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=30),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        headers: CIMultiDict[str],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109
    ) -> Answer:
        try:
            async with self._pool().request(
                method,
                _target(url),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=timeout, connect=min(self.connect_timeout, timeout)
                ),
            ) as response:
                return Answer(response.status, response.raw_headers, await response.read())
        except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimeoutError from None
        except aiohttp.ClientError as exc:
            raise Unreachable(type(exc).__name__) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpxTransport:
    """An httpx transport in the network's place: tests run the services in-process
    (``httpx.ASGITransport``) or answer with ``httpx.MockTransport``."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    async def send(
        self,
        method: str,
        url: str,
        headers: CIMultiDict[str],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109
    ) -> Answer:
        request = httpx.Request(method, url, headers=list(headers.items()), content=body)
        try:
            async with asyncio.timeout(timeout):
                response = await self.transport.handle_async_request(request)
                content = await response.aread()
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__) from exc
        return Answer(response.status_code, response.headers.raw, content)

    async def aclose(self) -> None:
        await self.transport.aclose()


class Upstream:
    """One process this one calls (a service, from a service or the gateway), shared by the
    whole process: its connection pool, circuit breaker, timeouts and retries."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        retries: int = 0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Metrics | None = None,
        max_connections: int = 200,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        """The longest a call waits, deadline or not."""
        self.retries = retries
        self.breaker = breaker or CircuitBreaker(name)
        self.metrics = metrics
        if metrics is not None:
            metrics.watch_breaker(name, self.breaker)
        self.transport: Transport = (
            HttpxTransport(transport)
            if transport is not None
            else AiohttpTransport(connect_timeout=connect_timeout, max_connections=max_connections)
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def forward(
        self, method: str, target: str, headers: CIMultiDict[str], body: bytes | None
    ) -> Answer:
        """The gateway's call: one attempt, whatever the upstream answers passed on as is."""
        return await self._exchange(method, target, headers, body, current_deadline.get(), 1)

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        deadline: Deadline | None = None,
    ) -> Answer:
        """A service's call. ``target`` is the path and query, already encoded. A 5xx answer
        (after the retries an idempotent call gets) raises 503, or 504 for the upstream's 504;
        ``deadline`` is the current request's unless given."""
        method = method.upper()
        sent: CIMultiDict[str] = CIMultiDict(headers or {})
        if json is not None:
            content = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        attempts = 1 + (self.retries if method in IDEMPOTENT_METHODS else 0)
        answer = await self._exchange(
            method, target, sent, content, deadline or current_deadline.get(), attempts
        )
        status = answer.status_code
        if status == 504:
            raise UpstreamTimeout(f"{self.name} ran out of time", extra={"upstream_status": 504})
        if status >= 500:
            raise UpstreamUnavailable(
                f"{self.name} failed ({status})", extra={"upstream_status": status}
            )
        return answer

    async def get(self, target: str, **kwargs: Any) -> Answer:
        return await self.request("GET", target, **kwargs)

    async def post(self, target: str, **kwargs: Any) -> Answer:
        return await self.request("POST", target, **kwargs)

    async def _exchange(
        self,
        method: str,
        target: str,
        headers: CIMultiDict[str],
        body: bytes | None,
        deadline: Deadline | None,
        attempts: int,
    ) -> Answer:
        if "X-Request-ID" not in headers:
            request_id = request_id_var.get()
            if request_id:
                headers["X-Request-ID"] = request_id
        url = self.base_url + target
        for attempt in range(attempts):
            timeout = self.timeout if deadline is None else min(deadline.remaining(), self.timeout)
            if timeout < _SHORTEST_CALL:
                raise UpstreamTimeout(f"no time was left to ask {self.name}")
            timer = UpstreamTimer(self.metrics, self.name)
            if not self.breaker.allow():
                timer.done("circuit_open")
                raise UpstreamUnavailable(f"{self.name} is unavailable (circuit open)")
            headers[TIME_LEFT_HEADER] = str(int(timeout * 1000))
            try:
                answer = await self.transport.send(method, url, headers, body, timeout)
            except TimeoutError:
                failure: ProblemKind = UpstreamTimeout
                timer.done("timeout")
            except Unreachable as exc:
                failure = UpstreamUnavailable
                timer.done("unavailable")
                log.warning("%s unreachable: %s", self.name, exc)
            else:
                timer.done(status_outcome(answer.status_code))
                self.breaker.record_success()
                if answer.status_code not in _RETRIED_ANSWERS or not await self._pause(
                    attempt, attempts, deadline
                ):
                    return answer
                continue
            if failure is UpstreamUnavailable and await self._pause(attempt, attempts, deadline):
                continue
            # Counted once per call, not per attempt: the threshold means calls.
            self.breaker.record_failure()
            if failure is UpstreamTimeout:
                raise UpstreamTimeout(f"{self.name} did not answer in time")
            raise UpstreamUnavailable(f"{self.name} is unavailable")
        raise AssertionError("unreachable")

    @staticmethod
    async def _pause(attempt: int, attempts: int, deadline: Deadline | None) -> bool:
        """Waits before the next attempt, if there is one and time for it after the wait."""
        if attempt + 1 >= attempts:
            return False
        pause = min(0.05 * 2**attempt, 0.5) * (0.5 + random.random())
        if deadline is not None and deadline.remaining() - pause < 2 * _SHORTEST_CALL:
            return False
        await asyncio.sleep(pause)
        return True


ProblemKind = type[UpstreamTimeout] | type[UpstreamUnavailable]


def _target(url: str) -> str | URL:
    """The URL for aiohttp, taken as already encoded when it plainly is (printable ASCII, no
    spaces, as every path our clients build and the gateway receives): yarl then skips
    re-quoting it."""
    if url.isascii() and url.isprintable() and " " not in url:
        return URL(url, encoded=True)
    return url
