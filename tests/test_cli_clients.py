"""``yibao clients disable`` cuts off a client whose secret leaked; ``enable`` lets it back."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text
from typer.testing import CliRunner

from cli.main import app
from cli.stack import create_clients
from shared.auth import ClientKind
from shared.db import Database
from shared.dbadmin import Bootstrap
from shared.topology import GATEWAY


def test_disable_then_enable_and_unknown_ones_fail(database: Bootstrap, use_url) -> None:
    made = asyncio.run(create_clients(database, ((ClientKind.pharmacy, "P37160200007", "cli"),)))
    client_id = made[0]["client_id"]
    use_url(database.admin_url)
    runner = CliRunner()
    result = runner.invoke(app, ["clients", "disable", client_id])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["client_id"] == client_id

    async def disabled_at() -> object:
        db = Database(database.url_for(GATEWAY), schema=GATEWAY.schema, pool_size=1)
        try:
            async with db.sessions() as session:
                return await session.scalar(
                    text("SELECT disabled_at FROM api_clients WHERE client_id = :c"),
                    {"c": client_id},
                )
        finally:
            await db.dispose()

    assert asyncio.run(disabled_at()) is not None
    unknown = runner.invoke(app, ["clients", "disable", "pharmacy-000000000000"])
    assert unknown.exit_code == 1

    enabled = runner.invoke(app, ["clients", "enable", client_id])
    assert enabled.exit_code == 0, enabled.output
    assert json.loads(enabled.stdout) == {"client_id": client_id, "disabled_at": None}
    assert asyncio.run(disabled_at()) is None
    assert runner.invoke(app, ["clients", "enable", "pharmacy-000000000000"]).exit_code == 1
