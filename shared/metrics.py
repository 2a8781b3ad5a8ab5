"""Prometheus metrics of one process, served at ``/metrics``.

Each app gets its own registry rather than the library's global one: the tests build many apps
in one interpreter, and a process serves exactly one app anyway. Gauges that describe state (pool
use, circuit breakers) are read when scraped, so the request path pays nothing for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope

if TYPE_CHECKING:
    from shared.http import CircuitBreaker

# Requests are mostly a few milliseconds; settlements and uploads reach into seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

UNMATCHED_ROUTE = "unmatched"
"""The route label of requests no route matched: raw paths would make the label unbounded."""

ROUTE_KEY = "yibao.route"
"""A scope key the gateway's proxy sets to label forwarded requests (``/claims/{path}``)."""


@dataclass(frozen=True, slots=True)
class PoolUse:
    size: int
    in_use: int
    max: int


def sqlalchemy_pool_use(engine: AsyncEngine) -> Callable[[], PoolUse]:
    """Pool use of an async engine's ``QueuePool``."""
    pool: Any = engine.sync_engine.pool

    def read() -> PoolUse:
        return PoolUse(
            size=pool.checkedin() + pool.checkedout(),
            in_use=pool.checkedout(),
            max=pool.size() + max(pool._max_overflow, 0),
        )

    return read


def asyncpg_pool_use(pool: Any) -> Callable[[], PoolUse]:
    def read() -> PoolUse:
        size = pool.get_size()
        return PoolUse(size=size, in_use=size - pool.get_idle_size(), max=pool.get_max_size())

    return read


class _StateCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        pools = GaugeMetricFamily(
            "yibao_db_pool_connections",
            "Database connections of each pool of this process, by state",
            labels=["pool", "state"],
        )
        for name, read in self.metrics.pools.items():
            use = read()
            pools.add_metric([name, "in_use"], use.in_use)
            pools.add_metric([name, "idle"], use.size - use.in_use)
            pools.add_metric([name, "max"], use.max)
        yield pools
        # One series per state, 1 for the current one (a state set, kept as a plain gauge so
        # `yibao_circuit_breaker_state{state="open"} == 1` is the whole alert).
        breakers = GaugeMetricFamily(
            "yibao_circuit_breaker_state",
            "State of the circuit breaker of each upstream this process calls",
            labels=["upstream", "state"],
        )
        for upstream, breaker in self.metrics.breakers.items():
            current = breaker.state
            for state in type(current):  # BreakerState, without importing shared.http
                breakers.add_metric([upstream, state.value], 1.0 if state is current else 0.0)
        yield breakers


class Metrics:
    """The metrics of one process: requests by route and status, upstream calls, pools."""

    def __init__(self, process: str) -> None:
        self.process = process
        self.registry = CollectorRegistry(auto_describe=False)
        self.pools: dict[str, Callable[[], PoolUse]] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self._requests = Counter(
            "yibao_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "yibao_http_request_duration_seconds",
            "Time from a request's arrival to its response, by route template and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._upstream = Histogram(
            "yibao_upstream_request_duration_seconds",
            "Calls to other services, by upstream and outcome (status class, timeout, "
            "unavailable, circuit_open)",
            ["upstream", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(self))
        ProcessCollector(registry=self.registry)  # CPU, memory, open files
        # Children cached by label values: ``labels()`` takes a lock and builds a key each time.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._upstream_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = (self._requests.labels(*labels), self._latency.labels(*labels))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_upstream(self, upstream: str, outcome: str, seconds: float) -> None:
        key = (upstream, outcome)
        child = self._upstream_children.get(key)
        if child is None:
            child = self._upstream_children[key] = self._upstream.labels(upstream, outcome)
        child.observe(seconds)

    def watch_pool(self, name: str, read: Callable[[], PoolUse]) -> None:
        self.pools[name] = read

    def watch_breaker(self, upstream: str, breaker: CircuitBreaker) -> None:
        self.breakers[upstream] = breaker

    def render(self) -> bytes:
        return generate_latest(self.registry)


def status_outcome(status: int) -> str:
    return f"{status // 100}xx"


def route_of(scope: Scope) -> str:
    """The matched route's template, so ``/persons/1`` and ``/persons/2`` count together."""
    route = scope.get("route")
    if route is not None:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
    label = scope.get(ROUTE_KEY)
    return label if isinstance(label, str) else UNMATCHED_ROUTE


class UpstreamTimer:
    """Times one upstream call; ``done(outcome)`` records it."""

    __slots__ = ("metrics", "started", "upstream")

    def __init__(self, metrics: Metrics | None, upstream: str) -> None:
        self.metrics = metrics
        self.upstream = upstream
        self.started = time.perf_counter()

    def done(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_upstream(
                self.upstream, outcome, time.perf_counter() - self.started
            )


def metrics_router() -> APIRouter:
    """``GET /metrics``, answered on the process's internal port alone (:mod:`shared.listeners`):
    Prometheus scrapes the pods there, and no request through the public port reaches it."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        registry: Metrics = request.app.state.metrics
        return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)

    return router
