"""deploy/k8s: rendered like ``kubectl apply -k``, schema-validated, cross-checked — and each
check shown to fail on a manifest broken the way it guards against."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest

from shared.topology import ALL_PROCESSES, GATEWAY
from tests.deploy.manifests import (
    K8S_DIR,
    Obj,
    RenderError,
    Schemas,
    cross_check,
    example_secrets,
    render,
)


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas()


@pytest.fixture(scope="module")
def pristine() -> list[Obj]:
    """The base as applied, with the Secrets an operator creates before it."""
    return render() + example_secrets()


def test_the_base_holds_no_secrets() -> None:
    # Placeholders in the base would overwrite the real Secrets on every `kubectl apply -k`.
    assert [o for o in render() if o["kind"] == "Secret"] == []


@pytest.fixture
def objects(pristine: list[Obj]) -> list[Obj]:
    # A copy per test: the tests below break it.
    return copy.deepcopy(pristine)


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_every_object_passes_the_schemas(schemas: Schemas, objects: list[Obj]) -> None:
    errors = [error for obj in objects for error in schemas.errors(obj)]
    assert errors == []


def test_cross_checks_pass(objects: list[Obj]) -> None:
    assert cross_check(objects) == []


def test_render_applies_namespace_and_labels(objects: list[Obj]) -> None:
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ConfigMap", "Secret", "Cluster", "Job", "Ingress"} <= kinds
    for obj in objects:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "yibao"
        if obj["kind"] == "Namespace":
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == "yibao"
    # Labels go to metadata only: a Deployment's selector is immutable once applied.
    deployment = _one(objects, "Deployment", "claims")
    assert "app.kubernetes.io/part-of" not in deployment["spec"]["selector"]["matchLabels"]


def test_every_process_has_its_objects(objects: list[Obj]) -> None:
    for spec in ALL_PROCESSES:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            _one(objects, kind, spec.name)


def test_placeholder_secrets_are_obvious(objects: list[Obj]) -> None:
    for secret in (o for o in objects if o["kind"] == "Secret"):
        for value in (secret.get("stringData") or {}).values():
            assert "CHANGE-ME" in value
    assert "external secret store" in (K8S_DIR / "examples" / "secrets.yaml").read_text()


def test_processes_wait_for_their_migrations(objects: list[Obj]) -> None:
    for spec in ALL_PROCESSES:
        pod = _one(objects, "Deployment", spec.name)["spec"]["template"]["spec"]
        (wait,) = pod["initContainers"]
        assert [*wait["command"], *wait["args"][:2]] == ["yibao", "migrated", spec.name]
    job = _one(objects, "Job", "yibao-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


# --- the checks fail on broken manifests -------------------------------------------------------


def test_schema_rejects_a_misspelt_field_and_a_wrong_type(
    schemas: Schemas, objects: list[Obj]
) -> None:
    broken = copy.deepcopy(_one(objects, "Deployment", "claims"))
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolcy"] = container.pop("imagePullPolicy")
    broken["spec"]["replicas"] = "two"
    errors = schemas.errors(broken)
    assert any("'imagePullPolcy' was unexpected" in e for e in errors), errors
    assert any(e.startswith("Deployment/claims: spec.replicas:") for e in errors), errors


def test_schema_rejects_a_wrong_nested_type(schemas: Schemas, objects: list[Obj]) -> None:
    broken = copy.deepcopy(_one(objects, "HorizontalPodAutoscaler", "stations"))
    broken["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = "70%"
    assert any("averageUtilization" in e for e in schemas.errors(broken))


def test_schema_rejects_unknown_kinds(schemas: Schemas) -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}}
    assert "no Kubernetes schema" in schemas.errors(obj)[0]


def test_cnpg_schema_rejects_broken_clusters(schemas: Schemas, objects: list[Obj]) -> None:
    broken = copy.deepcopy(_one(objects, "Cluster", "yibao-db"))
    broken["spec"]["instance"] = broken["spec"].pop("instances")
    broken["spec"]["postgresql"]["parameters"]["max_connections"] = 600
    errors = schemas.errors(broken)
    assert any("'instance' was unexpected" in e for e in errors), errors
    assert any("'instances' is a required property" in e for e in errors), errors
    assert any("max_connections: 600 is not of type 'string'" in e for e in errors), errors


def test_cnpg_schema_knows_the_pooler(schemas: Schemas) -> None:
    pooler = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Pooler",
        "metadata": {"name": "yibao-db-pooler-rw"},
        "spec": {"cluster": {"name": "yibao-db"}, "pgbouncer": {"poolMode": "transaction"}},
    }
    assert schemas.errors(pooler) == []
    pooler["spec"]["pgbouncer"]["poolMode"] = "statement"
    assert schemas.errors(pooler) != []


def test_cross_check_finds_a_dangling_secret(objects: list[Obj]) -> None:
    env = _one(objects, "Deployment", "enrollment")["spec"]["template"]["spec"]["containers"][0]
    ref = next(v for v in env["env"] if v["name"] == "YIBAO_VOUCHER_SECRET")
    ref["valueFrom"]["secretKeyRef"]["name"] = "yibao-vouchers"
    problems = cross_check(objects)
    assert any("Secret 'yibao-vouchers', not in the render" in p for p in problems), problems


def test_cross_check_finds_a_missing_key_and_an_unknown_setting(objects: list[Obj]) -> None:
    job = _one(objects, "Job", "yibao-migrate")
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    role = next(v for v in env if v["name"] == "YIBAO_DB_ROLE_PASSWORD")
    role["valueFrom"]["secretKeyRef"]["key"] = "password"
    env.append({"name": "YIBAO_DB_POOLSIZE", "value": "5"})
    problems = cross_check(objects)
    assert any("Secret yibao-db has no key 'password'" in p for p in problems), problems
    assert any("YIBAO_DB_POOLSIZE is not a setting" in p for p in problems), problems


def test_cross_check_finds_wiring_mistakes(objects: list[Obj]) -> None:
    _one(objects, "HorizontalPodAutoscaler", "claims")["spec"]["scaleTargetRef"]["name"] = "claim"
    _one(objects, "Service", "stations")["spec"]["ports"][0]["targetPort"] = 8080
    childcare = _one(objects, "Deployment", "childcare")
    main = childcare["spec"]["template"]["spec"]["containers"][0]
    main["readinessProbe"]["httpGet"]["path"] = "/healthz"
    main["args"] = ["serve", "stations"]
    del main["resources"]["limits"]
    env = main["env"]
    env.insert(0, env.pop(next(i for i, v in enumerate(env) if v["name"] == "YIBAO_DATABASE_URL")))
    ingress = _one(objects, "Ingress", "gateway")
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "claims"
    objects.remove(_one(objects, "PodDisruptionBudget", "enrollment"))
    problems = "\n".join(cross_check(objects))
    for expected in (
        "HorizontalPodAutoscaler/claims: scaleTargetRef Deployment/claim missing",
        "Service/stations: port http 8003→8080",
        "readinessProbe on /healthz, expected /readyz",
        "runs ['yibao', 'serve', 'stations'], not yibao serve childcare",
        "container childcare lacks cpu and memory limits",
        "uses $(DB_PASSWORD) before it",
        "Ingress/gateway: backend claims is not the gateway",
        "PodDisruptionBudget/enrollment: expected exactly one, found 0",
    ):
        assert expected in problems, problems


def test_cross_check_finds_a_selector_that_misses_its_pods(objects: list[Obj]) -> None:
    deployment = _one(objects, "Deployment", "gateway")
    deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "gw"
    problems = cross_check(objects)
    assert any("Deployment/gateway: selector" in p for p in problems), problems


# --- the renderer refuses what kubectl would apply differently -----------------------------------


@pytest.fixture
def k8s_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, folder)
    return folder


def test_render_refuses_other_kustomize_features(k8s_copy: Path) -> None:
    kustomization = k8s_copy / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "patches:\n  - path: x.yaml\n")
    with pytest.raises(RenderError, match=re.escape("keys not allowed here: ['patches']")):
        render(k8s_copy)


def test_render_refuses_selector_labels(k8s_copy: Path) -> None:
    kustomization = k8s_copy / "kustomization.yaml"
    text = kustomization.read_text().replace("  - pairs:", "  - includeSelectors: true\n    pairs:")
    kustomization.write_text(text)
    with pytest.raises(RenderError, match=re.escape("only set metadata.labels")):
        render(k8s_copy)


def test_render_refuses_an_unlisted_manifest(k8s_copy: Path) -> None:
    (k8s_copy / "pooler.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(RenderError, match=re.escape("files not in resources: ['pooler.yaml']")):
        render(k8s_copy)


def test_render_refuses_a_listed_file_that_is_missing(k8s_copy: Path) -> None:
    (k8s_copy / "ingress.yaml").unlink()
    with pytest.raises(RenderError, match=re.escape("ingress.yaml is not a file")):
        render(k8s_copy)


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or ():
        assert expression["operator"] == "In", "only In is read by this test"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _admitted(policies: list[Obj], pod: Obj, port: int) -> list[Obj]:
    """The peers of every rule of the policies covering ``pod`` that admit ``port``."""
    covering = [
        p for p in policies if _selects(p["spec"]["podSelector"], pod["metadata"]["labels"])
    ]
    assert len(covering) == 1
    return [
        peer
        for rule in covering[0]["spec"]["ingress"]
        if port in {p["port"] for p in rule["ports"]}
        for peer in rule["from"]
    ]


def test_every_port_is_behind_a_network_policy_that_admits_only_its_callers(
    objects: list[Obj],
) -> None:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    for spec in ALL_PROCESSES:
        pod = _one(objects, "Deployment", spec.name)["spec"]["template"]
        public = _admitted(policies, pod, spec.port)
        internal = _admitted(policies, pod, spec.internal_port)
        assert public and internal, spec.name
        # Prometheus scrapes the internal port, and never needs the public one.
        assert monitoring in internal and monitoring not in public, spec.name
        if spec is GATEWAY:
            # The gateway trusts X-Forwarded-For from its callers: on its public port only
            # the ingress controller's namespace, never any pod at all.
            assert public == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            ]
            # Its internal port: the services (the revocation list) and Prometheus.
            assert {tuple(p) for p in internal} == {("podSelector",), ("namespaceSelector",)}
        else:
            assert [set(p) for p in public] == [{"podSelector"}], spec.name
            assert internal == [monitoring], spec.name


def test_no_process_trusts_forwarded_headers_from_everyone(objects: list[Obj]) -> None:
    from shared.settings import Settings

    for spec in ALL_PROCESSES:
        container = _one(objects, "Deployment", spec.name)["spec"]["template"]["spec"][
            "containers"
        ][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert "FORWARDED_ALLOW_IPS" not in env, spec.name
    gateway = _one(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    trusted = next(e["value"] for e in gateway["env"] if e["name"] == "YIBAO_TRUSTED_PROXIES")
    networks = Settings(trusted_proxies=trusted).trusted_proxies
    assert networks and all(n.is_private and n.prefixlen >= 8 for n in networks)


def test_cross_check_finds_open_metrics_and_trust_in_everyone(objects: list[Obj]) -> None:
    gateway = _one(objects, "Deployment", "gateway")
    gateway["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "8000"
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "FORWARDED_ALLOW_IPS", "value": "*"})
    proxies = next(e for e in container["env"] if e["name"] == "YIBAO_TRUSTED_PROXIES")
    proxies["value"] = "0.0.0.0/0"
    claims = _one(objects, "Deployment", "claims")["spec"]["template"]["spec"]["containers"][0]
    claims["ports"] = [p for p in claims["ports"] if p["name"] != "internal"]
    claims["args"] = [*claims["args"][:-1], "9003"]
    config = _one(objects, "ConfigMap", "yibao-config")
    config["data"]["YIBAO_GATEWAY_INTERNAL_URL"] = "http://gateway:8000"
    service = _one(objects, "Service", "gateway")
    service["spec"]["ports"] = [p for p in service["spec"]["ports"] if p["name"] != "internal"]
    problems = "\n".join(cross_check(objects))
    for expected in (
        "Deployment/gateway: no Prometheus scrape annotations for /metrics on 9000",
        "Deployment/gateway: container gateway sets FORWARDED_ALLOW_IPS",
        "Deployment/gateway: YIBAO_TRUSTED_PROXIES '0.0.0.0/0'",
        "Deployment/claims: containerPorts {'http': 8002}, expected http 8002, internal 9002",
        "Deployment/claims: --internal-port is not 9002",
        "ConfigMap/yibao-config: YIBAO_GATEWAY_INTERNAL_URL is not http://gateway:9000",
        "Service/gateway: ports ['http'], expected",
    ):
        assert expected in problems, problems
    proxies["value"] = ""
    assert "YIBAO_TRUSTED_PROXIES is not set" in "\n".join(cross_check(objects))
