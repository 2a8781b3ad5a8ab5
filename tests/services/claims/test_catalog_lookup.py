"""The bulk catalog lookup stations uses to check an inventory upload."""

from services.claims.seed import seed


async def test_lookup_answers_found_and_missing_codes_without_a_token(claims, claims_app):
    async with claims_app.state.database.sessions() as session, session.begin():
        await seed(session)
    response = await claims.post(
        "/claims/v1/catalog/drugs/lookup", json={"codes": ["XA0001", "NOPE", "XA0001", "XA0055"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(d["code"] for d in body["found"]) == ["XA0001", "XA0055"]
    assert body["missing"] == ["NOPE"]
    assert all(d["payment_standard"] for d in body["found"])


async def test_lookup_refuses_an_empty_code(claims):
    response = await claims.post("/claims/v1/catalog/drugs/lookup", json={"codes": [""]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body.codes")
