"""The drug catalog: seed sizes, search by code, pinyin initials and Chinese name."""

from __future__ import annotations

from sqlalchemy import func, select

from services.claims.models import Drug
from services.claims.seed import seed


async def test_seed_is_idempotent_with_the_batch_sizes(claims_app):
    for _ in range(2):
        async with claims_app.state.database.sessions() as session, session.begin():
            await seed(session)
    async with claims_app.state.database.sessions() as session:
        rows = await session.execute(
            select(Drug.procurement_batch, func.count()).group_by(Drug.procurement_batch)
        )
        sizes = {batch: count for batch, count in rows}
        batch_3 = list(
            await session.scalars(
                select(Drug.code).where(Drug.procurement_batch == 3).order_by(Drug.code)
            )
        )
    assert (sizes[1], sizes[2], sizes[3]) == (25, 32, 55)
    assert batch_3 == [f"XA{n:04d}" for n in range(1, 56)]


async def test_search_by_name_initials_and_code(claims, claims_app):
    by_name = (await claims.get("/claims/v1/catalog/drugs", params={"q": "他汀"})).json()
    names = {d["generic_name"] for d in by_name["items"]}
    assert {"阿托伐他汀钙片", "瑞舒伐他汀钙片"} <= names
    assert all("他汀" in n for n in names)
    by_initials = (await claims.get("/claims/v1/catalog/drugs", params={"q": "ATF"})).json()
    assert "阿托伐他汀钙片" in {d["generic_name"] for d in by_initials["items"]}
    by_code = await claims.get("/claims/v1/catalog/drugs/XA0007")
    assert by_code.status_code == 200 and by_code.json()["procurement_batch"] == 3
    drug = by_code.json()
    assert drug["payment_standard"] == drug["winning_bid_price"]
    assert (await claims.get("/claims/v1/catalog/drugs/NOPE")).status_code == 404
    not_procured = (
        await claims.get("/claims/v1/catalog/drugs", params={"procured": "false", "limit": 500})
    ).json()["items"]
    assert not_procured and all(not d["procured"] for d in not_procured)


async def test_catalog_pages(claims, claims_app):
    first = (await claims.get("/claims/v1/catalog/drugs", params={"q": "xa", "limit": 50})).json()
    second = (
        await claims.get(
            "/claims/v1/catalog/drugs",
            params={"q": "xa", "limit": 50, "cursor": first["next_cursor"]},
        )
    ).json()
    codes = [d["code"] for d in first["items"] + second["items"]]
    assert codes == [f"XA{n:04d}" for n in range(1, 56)] and second["next_cursor"] is None
