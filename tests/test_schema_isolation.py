"""Each service's database role can use only its own schema."""

import asyncpg
import pytest

from shared.db import to_libpq_url
from shared.topology import SERVICES, service


async def test_a_service_role_cannot_read_another_services_schema(database):
    if not database.separate_roles:
        pytest.fail("the test server must allow per-service roles")
    conn = await asyncpg.connect(to_libpq_url(database.url_for(service("claims"))))
    try:
        assert await conn.fetchval("select current_user") == "yibao_claims"
        await conn.fetchval("select count(*) from benefit_policies")  # its own: fine
        for other in ("enrollment.persons", "gateway.api_clients", "childcare.institutions"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"select count(*) from {other}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("create table public.sneaky (id int)")
    finally:
        await conn.close()


async def test_every_service_owns_exactly_its_schema(database):
    conn = await asyncpg.connect(to_libpq_url(database.admin_url))
    try:
        rows = await conn.fetch(
            "select nspname, pg_get_userbyid(nspowner) as owner from pg_namespace"
            " where nspname = any($1::text[])",
            [s.schema for s in SERVICES],
        )
        assert {r["nspname"]: r["owner"] for r in rows} == {s.schema: s.db_role for s in SERVICES}
    finally:
        await conn.close()
