"""Revocation in every service: the list is read from the gateway's internal listener, signed,
refreshed as often as the gateway refreshes its own, and kept when the gateway cannot be read."""

import asyncio
import logging
import time

import httpx
import jwt
import pytest

from gateway.app import create_app as create_gateway
from gateway.app import fastapi_of
from services.childcare.app import create_app as create_childcare
from shared.auth import ClientKind, Principal, TokenSigner, TokenVerifier, generate_keypair
from shared.errors import Unauthorized
from shared.http import Upstream
from shared.revocation import RevocationFeed, Revocations
from tests.conftest import running
from tests.gateway.test_gateway import register, token_for

DOWN = {n: "http://127.0.0.1:9" for n in ("enrollment", "claims", "stations", "childcare")}
INSTITUTIONS = "/childcare/v1/institutions?limit=1"


class Switchable(httpx.AsyncBaseTransport):
    """The gateway in-process, or (``down``) a gateway that cannot be reached."""

    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        return await self.inner.handle_async_request(request)


async def _until(predicate, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.02)
    return False


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_service_refuses_a_client_disabled_at_the_gateway_and_keeps_the_list(
    settings_for, auth
):
    gateway_app = create_gateway(settings_for("gateway", service_urls=DOWN, internal_port=9100))
    gateway_link = Switchable(gateway_app)
    refresh = 0.05
    childcare_app = create_childcare(
        settings_for(
            "childcare",
            gateway_internal_url="http://gateway:9100",
            revocation_refresh_seconds=refresh,
            breaker_reset_seconds=refresh,
        ),
        transports={"gateway": gateway_link},
    )
    async with (
        running(fastapi_of(gateway_app), asgi=gateway_app) as gateway,
        running(childcare_app) as childcare,
    ):
        client = await register(gateway, auth, "admin")
        headers = {"Authorization": f"Bearer {await token_for(gateway, client)}"}
        assert (await childcare.get(INSTITUTIONS, headers=headers)).status_code == 200
        ready = (await childcare.get("/readyz")).json()
        assert ready["checks"]["revocations"] == "ok"

        disabled = await gateway.post(
            f"/auth/clients/{client['client_id']}/disable", headers=auth("admin")
        )
        assert disabled.status_code == 200

        async def refused() -> bool:
            response = await childcare.get(INSTITUTIONS, headers=headers)
            return response.status_code == 401 and "disabled" in response.json()["detail"]

        assert await _until(refused)

        # The gateway out of reach: the service keeps the list, says so once, and in /readyz.
        kept = Kept()
        logging.getLogger("yibao.revocation").addHandler(kept)
        gateway_link.down = True
        try:

            async def stale() -> bool:
                checks = (await childcare.get("/readyz")).json()["checks"]
                return checks["revocations"].startswith("stale")

            assert await _until(stale)
            await asyncio.sleep(refresh * 4)
        finally:
            logging.getLogger("yibao.revocation").removeHandler(kept)
        ready = await childcare.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert await refused()
        assert [r.levelname for r in kept.records] == ["WARNING"]
        assert "keeping the last list" in kept.records[0].getMessage()
        assert client["client_id"] in childcare_app.state.revocations

        gateway_link.down = False

        async def fresh() -> bool:
            return (await childcare.get("/readyz")).json()["checks"]["revocations"] == "ok"

        assert await _until(fresh)


def _feed(answer: httpx.Response, verifier: TokenVerifier) -> tuple[RevocationFeed, Revocations]:
    gateway = Upstream(
        "gateway", "http://gateway", retries=0, transport=httpx.MockTransport(lambda _: answer)
    )
    revocations = Revocations()
    return RevocationFeed(gateway, verifier, revocations), revocations


async def test_a_list_not_signed_by_the_gateway_is_refused(settings_for, tmp_path):
    settings = settings_for("childcare")
    verifier = TokenVerifier(settings)
    ours = TokenSigner(settings_for("gateway"))
    other_keys = generate_keypair(tmp_path)
    theirs = TokenSigner(
        settings_for(
            "gateway", jwt_private_key_file=other_keys[0], jwt_public_key_file=other_keys[1]
        )
    )

    feed, revocations = _feed(httpx.Response(200, text=ours.sign_revocations(["a-1"])), verifier)
    await feed.refresh()
    assert "a-1" in revocations and revocations.check() == "ok"

    for document in (
        theirs.sign_revocations([]),  # another key: an empty list from an impostor
        ours.issue(Principal(client_id="admin-x", kind=ClientKind.admin)),  # a token, no list
        "not a jwt",
    ):
        feed, revocations = _feed(httpx.Response(200, text=document), verifier)
        await feed.refresh()
        assert revocations.loaded_at is None
        assert revocations.check().startswith("never loaded: the revocation list")
    for answer, reason in ((503, "gateway failed (503)"), (404, "the gateway answered 404")):
        feed, revocations = _feed(httpx.Response(answer), verifier)
        await feed.refresh()
        assert revocations.check() == f"never loaded: {reason}"


def test_a_list_is_not_a_token_and_an_old_one_is_refused(settings_for, keys):
    settings = settings_for("childcare")
    verifier = TokenVerifier(settings)
    document = TokenSigner(settings_for("gateway")).sign_revocations(["a-1"])
    with pytest.raises(Unauthorized):
        verifier.verify(document)
    old = jwt.encode(
        {
            "iss": "yibao",
            "aud": "yibao-revocations",
            "iat": int(time.time()) - 600,
            "exp": int(time.time()) - 480,
            "revoked": [],
        },
        keys[0].read_text(),
        algorithm="EdDSA",
    )
    with pytest.raises(ValueError, match="expired"):
        verifier.read_revocations(old)
