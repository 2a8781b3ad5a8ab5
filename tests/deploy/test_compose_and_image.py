"""deploy/compose.yaml and deploy/Dockerfile against shared/topology.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from shared.topology import ALL_PROCESSES, GATEWAY, SERVICES
from tests.deploy.manifests import KNOWN_ENV, ROOT

DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_runs_every_process_after_migrate(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for spec in ALL_PROCESSES:
        service = services[spec.name]
        assert service["command"] == [
            "serve", spec.name, "--port", str(spec.port), "--internal-port", str(spec.internal_port)
        ]  # fmt: skip
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["YIBAO_DATABASE_URL"].startswith(f"postgresql://yibao_{spec.name}:")
        assert "@postgres:5432/yibao" in env["YIBAO_DATABASE_URL"]
        assert json.loads(env["YIBAO_SERVICE_URLS"]) == {
            s.name: f"http://{s.name}:{s.port}" for s in SERVICES
        }
        assert env["YIBAO_JWT_PUBLIC_KEY_FILE"].startswith("/run/secrets/")
        assert env["YIBAO_GATEWAY_INTERNAL_URL"] == f"http://gateway:{GATEWAY.internal_port}"
        assert "FORWARDED_ALLOW_IPS" not in env
        assert f":{spec.port}/readyz" in " ".join(service["healthcheck"]["test"])
    # The API port alone: no internal port (metrics, the revocation list) is published.
    assert services[GATEWAY.name]["ports"] == [f"{GATEWAY.port}:{GATEWAY.port}"]
    assert "YIBAO_JWT_PRIVATE_KEY_FILE" in services[GATEWAY.name]["environment"]
    published = [name for name, s in services.items() if s.get("ports")]
    assert published == [GATEWAY.name]


def test_compose_gateway_trusts_no_proxy(compose: dict[str, Any]) -> None:
    from shared.settings import Settings

    # Nothing sits in front of the published port: X-Forwarded-For is the caller's own text.
    trusted = compose["services"][GATEWAY.name]["environment"]["YIBAO_TRUSTED_PROXIES"]
    assert Settings(trusted_proxies=trusted).trusted_proxies == []


def test_compose_sets_only_known_settings(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key in service.get("environment") or {}:
            if key.startswith("YIBAO_"):
                assert key in KNOWN_ENV, f"{name}: {key}"


def test_dockerfile_installs_the_pins_and_runs_yibao() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [line.strip() for line in text.splitlines() if not line.startswith("#")]
    assert any(line.startswith("FROM python:3.11-slim") for line in instructions)
    assert re.search(r"pip install -c constraints\.txt \.(\s|$)", text)
    assert not any("[dev]" in line for line in instructions)
    assert 'ENTRYPOINT ["yibao"]' in instructions
    assert 'CMD ["serve", "gateway"]' in instructions
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".data", ".git", "bench/results", "**/__pycache__"} <= ignored


def test_deploy_secrets_folder_is_never_committed() -> None:
    assert (DEPLOY / "secrets" / ".gitignore").read_text().split() == ["*", "!.gitignore"]


def test_dockerfile_copies_every_package() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*?)\]", pyproject)
    assert packages is not None
    for package in re.findall(r'"(\w+)\*"', packages.group(1)):
        assert (ROOT / package).is_dir(), package
        assert f"COPY {package} ./{package}" in text, package
