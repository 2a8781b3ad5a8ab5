"""``yibao migrated NAME``: what a Kubernetes initContainer waits on before a process starts."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli.main import app
from shared.db import with_database
from shared.dbadmin import Bootstrap, bootstrap, drop_database
from shared.migrations import head_revisions, upgrade
from shared.topology import ALL_PROCESSES, service

CLAIMS = service("claims")


@pytest.fixture
def half_migrated(database: Bootstrap) -> Iterator[Bootstrap]:
    """A database of its own whose claims schema stops at the first revision: the shared test
    database must stay at head for every other test."""
    url = with_database(database.admin_url, f"yibao_test_migrated_{secrets.token_hex(4)}")
    boot = asyncio.run(bootstrap(url, processes=(CLAIMS,)))
    try:
        upgrade(CLAIMS, boot.url_for(CLAIMS), "0001")
        yield boot
    finally:
        asyncio.run(drop_database(url))


def test_head_is_read_from_the_scripts() -> None:
    for spec in ALL_PROCESSES:
        assert len(head_revisions(spec)) == 1, spec.name
    assert head_revisions(CLAIMS) == {"0008"}


def test_every_migrated_schema_passes(database: Bootstrap, use_url) -> None:
    runner = CliRunner()
    for spec in ALL_PROCESSES:
        use_url(database.url_for(spec))
        result = runner.invoke(app, ["migrated", spec.name])
        assert result.exit_code == 0, result.output


def test_behind_schema_times_out_with_a_message(half_migrated: Bootstrap, use_url) -> None:
    use_url(half_migrated.url_for(CLAIMS))
    started = time.monotonic()
    result = CliRunner().invoke(app, ["migrated", "claims", "--wait", "0.5"])
    assert result.exit_code == 1
    assert time.monotonic() - started >= 0.5
    assert "schema is at 0001" in result.output
    assert "head is 0008" in result.output


def test_waits_until_the_migration_lands(half_migrated: Bootstrap, use_url) -> None:
    use_url(half_migrated.url_for(CLAIMS))
    # The migration Job finishing while the initContainer polls.
    finish = threading.Timer(0.5, upgrade, args=(CLAIMS, half_migrated.url_for(CLAIMS)))
    finish.start()
    try:
        result = CliRunner().invoke(app, ["migrated", "claims", "--wait", "60"])
    finally:
        finish.join()
    assert result.exit_code == 0, result.output


def test_unreachable_server_is_not_migrated(use_url) -> None:
    # A role migrate has not created yet looks the same to the waiting container.
    use_url("postgresql://nobody@127.0.0.1:1/yibao")
    result = CliRunner().invoke(app, ["migrated", "gateway", "--wait", "0"])
    assert result.exit_code == 1
    assert "not migrated" in result.output


def test_unknown_process(use_url) -> None:
    use_url("postgresql://nobody@127.0.0.1:1/yibao")
    assert CliRunner().invoke(app, ["migrated", "billing"]).exit_code == 2


def test_a_schema_past_this_images_head_is_served(half_migrated: Bootstrap, use_url) -> None:
    # A newer release migrated it while an old pod restarts: the old version still serves.
    import asyncpg

    from shared.db import to_libpq_url

    url = half_migrated.url_for(CLAIMS)
    upgrade(CLAIMS, url)

    async def stamp_newer() -> None:
        conn = await asyncpg.connect(to_libpq_url(url))
        try:
            await conn.execute("UPDATE claims.alembic_version SET version_num = '9999'")
        finally:
            await conn.close()

    asyncio.run(stamp_newer())
    use_url(url)
    result = CliRunner().invoke(app, ["migrated", "claims"])
    assert result.exit_code == 0, result.output
    assert "past this image's head" in result.output
