"""Fixtures: a fresh database on a real PostgreSQL per test run, apps in-process, tokens.

The server is the one named by ``YIBAO_DATABASE_URL`` if set (e.g. the machine's own on
127.0.0.1:5432), else the embedded one under ``.data/pg``. Each pytest worker creates its own
database on it and drops it at the end, so runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from fastapi import FastAPI

from shared.auth import ClientKind, Principal, TokenSigner, generate_keypair
from shared.db import with_database
from shared.dbadmin import Bootstrap, bootstrap, drop_database
from shared.migrations import upgrade
from shared.settings import Settings, get_settings
from shared.topology import ALL_PROCESSES, SERVICES, service

ROOT = Path(__file__).resolve().parent.parent

# Tests do not time things (speeds live in `make bench`): on a busy two-core machine hypothesis'
# clock-based checks failed properties that held (a draw "too slow" to generate).
hypothesis.settings.register_profile(
    "yibao", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("yibao")


def _server_url() -> tuple[str, Any]:
    url = os.environ.get("YIBAO_DATABASE_URL")
    if url:
        return url, None
    from cli.stack import EmbeddedServer

    embedded = EmbeddedServer(ROOT / ".data")
    return embedded.url("postgres"), embedded


@pytest.fixture(scope="session")
def database() -> Iterator[Bootstrap]:
    server_url, embedded = _server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = with_database(server_url, f"yibao_test_{worker}_{secrets.token_hex(4)}")
    boot = asyncio.run(bootstrap(url))
    try:
        for spec in ALL_PROCESSES:
            upgrade(spec, boot.url_for(spec))
        yield boot
    finally:
        asyncio.run(drop_database(url))
        if embedded is not None:
            embedded.stop()


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def settings_for(database: Bootstrap, keys: tuple[Path, Path]) -> Callable[..., Settings]:
    def make(name: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": database.url_for(service(name)),
            "jwt_private_key_file": keys[0],
            "jwt_public_key_file": keys[1],
            "access_log": False,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def token(settings_for: Callable[..., Settings]) -> Callable[..., str]:
    """``token("admin")``, ``token("pharmacy", bound="P37160200007")``, ``token("app", person_id=1)``."""
    signer = TokenSigner(settings_for("gateway"))

    def make(kind: str, bound: str | None = None, person_id: int | None = None) -> str:
        principal = Principal(
            client_id=f"test-{kind}-{bound or person_id or 'x'}",
            kind=ClientKind(kind),
            bound=bound,
            person_id=person_id,
        )
        return signer.issue(principal)

    return make


@pytest.fixture(scope="session")
def auth(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """Headers carrying a token: ``auth("admin")``."""

    def make(kind: str, bound: str | None = None, person_id: int | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(kind, bound, person_id)}"}

    return make


@asynccontextmanager
async def running(app: FastAPI, asgi: Any = None) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, behind an in-process httpx client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=asgi or app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture(scope="session")
async def service_apps(settings_for: Callable[..., Settings]) -> AsyncIterator[dict[str, FastAPI]]:
    """The four services in-process, lifespans running, calling each other in-process too."""
    import importlib

    transports: dict[str, httpx.AsyncBaseTransport] = {}
    apps: dict[str, FastAPI] = {}
    for spec in SERVICES:
        module = importlib.import_module(f"{spec.package}.app")
        apps[spec.name] = module.create_app(settings_for(spec.name), transports=transports)
        transports[spec.name] = httpx.ASGITransport(app=apps[spec.name])
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield apps


def _service_fixture(name: str) -> Any:
    @pytest.fixture(scope="session")
    async def client(service_apps: dict[str, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=service_apps[name])
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c

    return client


enrollment = _service_fixture("enrollment")
claims = _service_fixture("claims")
stations = _service_fixture("stations")
childcare = _service_fixture("childcare")


@pytest.fixture
def use_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Points a CLI command's settings at a URL (settings are cached per process)."""

    def point(url: str) -> None:
        monkeypatch.setenv("YIBAO_DATABASE_URL", url)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's recovery times (tests/e2e/test_faults.py records them; with xdist they
    travel back in the test's report), at the end of every run that had it. Here, not in
    tests/e2e: under xdist only this conftest is loaded where the summary is written."""
    lines = [
        line
        for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed")
        for name, value in report.user_properties
        if name == "fault_recovery"
        for line in value
    ]
    if lines:
        terminalreporter.section("fault suite: recovery times")
        for line in lines:
            terminalreporter.write_line(line)
