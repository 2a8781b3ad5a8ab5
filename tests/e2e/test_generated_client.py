"""A partner's generated client, end to end: openapi-python-client (pinned in the dev
dependencies) turns the gateway's merged document into a Python package without one warning, and
that package's code drives a visit through the real processes behind the gateway."""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from cli.stack import create_clients
from services.claims.seed import seed as seed_claims
from shared.auth import ClientKind
from shared.db import Database
from shared.dbadmin import Bootstrap
from shared.topology import service
from tests.services.enrollment.helpers import fresh_id_number

pytestmark = pytest.mark.xdist_group("e2e")

PACKAGE = "yibao_partner_client"


@pytest.fixture(scope="module")
def generated(live, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    where = tmp_path_factory.mktemp("generated")
    (where / "openapi.json").write_bytes(_whole_document(live.url("gateway")))
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(where / "openapi.json"),
            "--output-path",
            str(where / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # The generator formats its output with ruff, from the same virtualenv.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower() and "unable" not in output.lower(), output
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


def _whole_document(gateway: str) -> bytes:
    """The merged document once it holds every service (one restarted by another test a moment
    ago is left out of it, and named in ``x-unavailable-services``, until it answers again)."""
    deadline = time.monotonic() + 60
    while True:
        answer = httpx.get(f"{gateway}/openapi.json", timeout=30.0)
        assert answer.status_code == 200
        missing = answer.json()["info"].get("x-unavailable-services")
        if not missing:
            return answer.content
        assert time.monotonic() < deadline, f"the document lacks {missing}"
        time.sleep(1)


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _authenticated(generated: ModuleType, base_url: str, client: dict[str, Any]) -> Any:
    """A token through the generated token operation, then a client carrying it."""
    models = _module("models")
    plain = generated.Client(base_url=base_url, raise_on_unexpected_status=True)
    token = _module("api.auth.tokens_issue").sync(
        client=plain,
        body=models.TokenRequest(
            grant_type="client_credentials",
            client_id=client["client_id"],
            client_secret=client["client_secret"],
        ),
    )
    assert isinstance(token, models.TokenResponse), token
    return generated.AuthenticatedClient(
        base_url=base_url, token=token.access_token, raise_on_unexpected_status=True
    )


async def _seed_claims(boot: Bootstrap) -> None:
    """The benefit policy in force (the demo city's), as ``yibao seed`` loads it."""
    spec = service("claims")
    database = Database(boot.url_for(spec), schema=spec.schema, pool_size=1)
    try:
        async with database.sessions() as session, session.begin():
            await seed_claims(session)
    finally:
        await database.dispose()


def test_a_generated_client_settles_replays_reads_and_reverses(generated, live, database):
    asyncio.run(_seed_claims(database))
    models = _module("models")
    base_url = live.url("gateway")
    hospital = f"H371602{uuid.uuid4().int % 100_000:05d}"
    admin_credentials, hospital_credentials = asyncio.run(
        create_clients(
            database,
            (
                (ClientKind.admin, None, "generated-client admin"),
                (ClientKind.institution, hospital, "generated-client hospital"),
            ),
        )
    )
    admin = _authenticated(generated, base_url, admin_credentials)
    institution = _authenticated(generated, base_url, hospital_credentials)

    registered = _module("api.medical_institutions.medical_institutions_create").sync_detailed(
        client=admin,
        body=models.MedicalInstitutionCreate(
            code=hospital,
            name="生成客户端医院",
            kind=models.InstitutionKind.HOSPITAL,
            region_code="371602",
            lat=37.4,
            lon=118.0,
            tier=2,
        ),
    )
    assert registered.status_code == 201, registered.content

    # A person and a coverage period: 201, parsed into their typed models.
    person = _module("api.persons.persons_create").sync_detailed(
        client=admin,
        body=models.PersonCreate(
            id_number=fresh_id_number(), name="生成客户", region_code="371602001"
        ),
    )
    assert person.status_code == 201
    assert isinstance(person.parsed, models.PersonOut)
    person_id = person.parsed.person_id
    coverage = _module("api.coverage_periods.coverages_create").sync_detailed(
        person_id,
        client=admin,
        body=models.CoveragePeriodCreate(
            scheme=models.Scheme.RESIDENT, start_date=date(2024, 1, 1)
        ),
    )
    assert coverage.status_code == 201, coverage.content  # was "unexpected status"
    assert isinstance(coverage.parsed, models.CoveragePeriodOut)
    assert coverage.parsed.person_id == person_id

    visit = models.SettlementRequest(
        person_id=person_id,
        institution_code=hospital,
        visit_type=models.VisitType.INPATIENT,
        service_date=date(2024, 6, 3),
        items=[
            models.ItemIn(
                code="F0001",
                name="床位费",
                category=models.Category.A,
                quantity="5",
                unit_price="2100.00",
            )
        ],
    )
    preview = _module("api.settlements.settlements_preview").sync(client=institution, body=visit)
    assert isinstance(preview, models.ExplanationOfBenefits), preview
    assert preview.settlement_id is None and preview.total == "10500.00"

    settle = _module("api.settlements.settlements_create")
    key = f"generated-{uuid.uuid4()}"
    settled = settle.sync_detailed(client=institution, body=visit, idempotency_key=key)
    assert settled.status_code == 201, settled.content
    assert isinstance(settled.parsed, models.ExplanationOfBenefits)
    eob = settled.parsed
    assert isinstance(eob.settlement_id, int) and eob.basic_fund == preview.basic_fund

    replayed = settle.sync_detailed(client=institution, body=visit, idempotency_key=key)
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert isinstance(replayed.parsed, models.ExplanationOfBenefits)
    assert replayed.parsed.settlement_id == eob.settlement_id

    read = _module("api.settlements.settlements_get").sync(eob.settlement_id, client=institution)
    assert isinstance(read, models.ExplanationOfBenefits)
    assert (read.status, read.personal_pay) == ("settled", eob.personal_pay)

    reversed_ = _module("api.settlements.settlements_reverse").sync(
        eob.settlement_id, client=institution, idempotency_key=f"generated-{uuid.uuid4()}"
    )
    assert isinstance(reversed_, models.ExplanationOfBenefits), reversed_
    assert reversed_.status == "reversed"

    # Errors come back as typed problems.
    missing = _module("api.persons.persons_get").sync(2**63 - 1, client=admin)
    assert isinstance(missing, models.Problem) and missing.status == 404
    twice = _module("api.persons.persons_create").sync(
        client=admin,
        body=models.PersonCreate(
            id_number=person.parsed.id_number, name="生成客户", region_code="371602001"
        ),
    )
    assert isinstance(twice, models.Problem) and twice.status == 409
    visit.items[0].name = "床位\x00费"
    refused = settle.sync(client=institution, body=visit, idempotency_key=f"k-{uuid.uuid4()}")
    assert isinstance(refused, models.Problem) and refused.status == 422
    assert [e.field for e in refused.errors] == ["body.items.0.name"]
