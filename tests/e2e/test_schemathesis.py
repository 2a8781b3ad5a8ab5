"""Schemathesis (pinned in the dev dependencies) against the real processes behind the gateway:
what the merged document declares, the servers do. Valid and invalid requests from the document,
as three kinds of client (admin, pharmacy, app), each with its own clients in a database of its
own, so nothing it disables or writes touches another test."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli.stack import create_clients
from shared.auth import ClientKind

# With the other end-to-end tests, one after another: the fuzzer's load must not starve the
# timed start-ups of tests/e2e/test_up.py.
pytestmark = pytest.mark.xdist_group("e2e")

CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "negative_data_rejection",
)
MAX_EXAMPLES = 4
"""Per operation and client, valid and invalid each: small, to keep `make test` within minutes
on two cores. The seed is fixed, so a finding reproduces."""

RUNS = (
    # Staff may call every operation: all of them.
    (ClientKind.admin, None, None, ".*"),
    # The others, the operations their kind is for (elsewhere they meet a 403 before any work).
    (
        ClientKind.pharmacy,
        "P37160200007",
        None,
        "^(settlements|eligibility|voucher codes|pharmacies|drug catalog|medical institutions)$",
    ),
    (
        ClientKind.app,
        None,
        1,
        "^(persons|coverage periods|offsite filings|eligibility|voucher codes|settlements"
        "|reimbursements|video service)$",
    ),
)


def _token(gateway: str, credentials: dict, person_id: int | None) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
    }
    if person_id is not None:
        form["person_id"] = str(person_id)
    answer = httpx.post(f"{gateway}/auth/token", data=form, timeout=30.0)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _schemathesis(gateway: str, token: str, tags: str, where: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{gateway}/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20",
            # One thread: hypothesis describes its strategies with ast.parse, which in Python
            # 3.11 fails now and then when two threads parse at once.
            "--workers",
            "1",
            # Its own admin client would otherwise be among those it disables.
            "--exclude-operation-id",
            "clients_disable",
            "--include-tag-regex",
            tags,
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "20",
            "--header",
            f"Authorization: Bearer {token}",
            "--no-color",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=where,
    )


def test_the_servers_do_what_the_document_says(fuzz_live, fuzz_database, tmp_path: Path):
    """One run per kind of client, the three at once: each mostly waits on the servers or
    generates, and two cores serve three such runs sooner than one after another."""
    gateway = fuzz_live.url("gateway")
    made = asyncio.run(
        create_clients(fuzz_database, tuple((k, b, f"fuzz {k}") for k, b, _, _ in RUNS))
    )
    runs = {}
    for (kind, _, person_id, tags), credentials in zip(RUNS, made, strict=True):
        where = tmp_path / kind.value
        where.mkdir()
        runs[kind.value] = _schemathesis(
            gateway, _token(gateway, credentials, person_id), tags, where
        )
    outputs = {name: run.communicate(timeout=900)[0] for name, run in runs.items()}
    failed = {name: outputs[name][-15000:] for name, run in runs.items() if run.returncode != 0}
    assert not failed, "\n\n".join(f"--- {name} ---\n{out}" for name, out in failed.items())
    # And each tested what it was given (every operation but one, for the admin).
    tested = {name: re.search(r"Tested: (\d+)", out) for name, out in outputs.items()}
    assert all(tested.values()), outputs
    counts = {name: int(found.group(1)) for name, found in tested.items() if found}
    assert counts["admin"] >= 120 and min(counts.values()) >= 10, counts
