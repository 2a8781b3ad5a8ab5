"""Render ``deploy/k8s`` as ``kubectl apply -k`` would, and check what comes out.

Three layers, each catching what the one before cannot:

* :func:`render` reproduces the only kustomize features the folder may use (``resources``,
  ``namespace``, ``labels``) and refuses anything else, so what is tested is what is applied;
* :class:`Schemas` validates every object against the Kubernetes OpenAPI schema (strict: an
  unknown or misspelled field fails) and the CloudNativePG objects against ``cnpg.schema.json``;
* :func:`cross_check` checks what no schema can: names that must point at each other, the ports
  and commands of ``shared/topology.py``, probes, resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from services.claims.config import ClaimsSettings
from services.enrollment.config import EnrollmentSettings
from shared.settings import Settings
from shared.topology import ALL_PROCESSES, GATEWAY, SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.34.0"
"""A recent release kubernetes-validate ships; the manifests use nothing newer (preStop sleep is
GA since 1.30)."""

KUSTOMIZATION_KEYS = frozenset({"resources", "namespace", "labels"})
LABEL_KEYS = frozenset({"pairs", "includeSelectors", "includeTemplates"})
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "IngressClass",
        "PriorityClass",
    }
)
CNPG_GROUP = "postgresql.cnpg.io/v1"
WORKLOAD_KINDS = frozenset({"Deployment", "Job", "StatefulSet", "DaemonSet"})
KNOWN_ENV = frozenset(
    f"YIBAO_{name.upper()}"
    for model in (Settings, EnrollmentSettings, ClaimsSettings)
    for name in model.model_fields
)
"""Every YIBAO_ variable a process reads: a misspelt one is otherwise silently ignored."""

Obj = dict[str, Any]


class RenderError(ValueError):
    pass


def render(folder: Path = K8S_DIR) -> list[Obj]:
    """The objects ``kubectl apply -k folder`` would send, for the subset of kustomize allowed."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text()) or {}
    unknown = set(kustomization) - KUSTOMIZATION_KEYS
    if unknown:
        raise RenderError(f"kustomization.yaml: keys not allowed here: {sorted(unknown)}")
    listed = kustomization.get("resources") or []
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise RenderError("kustomization.yaml: resources must be a list of file names")
    if len(set(listed)) != len(listed):
        raise RenderError("kustomization.yaml: a resource is listed twice")
    for name in listed:
        if "/" in name or not (folder / name).is_file():
            raise RenderError(f"kustomization.yaml: {name} is not a file in {folder.name}/")
    present = {
        path.name
        for pattern in ("*.yaml", "*.yml")
        for path in folder.glob(pattern)
        if path.name != "kustomization.yaml"
    }
    unlisted = present - set(listed)
    if unlisted:
        # Left out of resources, a manifest would silently never be applied.
        raise RenderError(f"kustomization.yaml: files not in resources: {sorted(unlisted)}")
    namespace = kustomization.get("namespace")
    labels = _common_labels(kustomization.get("labels") or [])

    objects: list[Obj] = []
    for name in listed:
        for document in yaml.safe_load_all((folder / name).read_text()):
            if document is None:
                continue
            if not isinstance(document, dict) or "kind" not in document:
                raise RenderError(f"{name}: a document that is not a Kubernetes object")
            metadata = document.setdefault("metadata", {})
            if namespace and document["kind"] not in CLUSTER_SCOPED:
                metadata["namespace"] = namespace
            if labels:
                metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
            document["__file__"] = name
            objects.append(document)
    return objects


def example_secrets(folder: Path = K8S_DIR) -> list[Obj]:
    """The Secrets the base expects to exist (``examples/secrets.yaml``): not part of the base,
    so an apply never overwrites the real ones; created out of band before it."""
    path = folder / "examples" / "secrets.yaml"
    objects = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for obj in objects:
        obj["__file__"] = "examples/secrets.yaml"
    return objects


def _common_labels(entries: Any) -> dict[str, str]:
    if not isinstance(entries, list):
        raise RenderError("kustomization.yaml: labels must be a list")
    out: dict[str, str] = {}
    for entry in entries:
        unknown = set(entry) - LABEL_KEYS
        if unknown:
            raise RenderError(f"kustomization.yaml: labels keys not allowed: {sorted(unknown)}")
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            # Selectors are immutable on a Deployment: labels stay out of them by design.
            raise RenderError("kustomization.yaml: labels may only set metadata.labels")
        for key, value in (entry.get("pairs") or {}).items():
            if not isinstance(value, str):
                raise RenderError(f"kustomization.yaml: label {key} must be a string")
            out[key] = value
    return out


def ident(obj: Obj) -> str:
    return f"{obj['kind']}/{obj.get('metadata', {}).get('name', '?')}"


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(root)"


class Schemas:
    """Validators per (apiVersion, kind), built once: the definitions file alone is 1.5 MB."""

    def __init__(self, version: str = KUBERNETES_VERSION) -> None:
        folder = files("kubernetes_validate").joinpath(
            f"kubernetes-json-schema/v{version}-local-strict"
        )
        self._folder = folder
        definitions = json.loads(folder.joinpath("_definitions.json").read_text())
        self._registry: Registry = Resource.from_contents(definitions) @ Registry()
        cnpg = json.loads((Path(__file__).parent / "cnpg.schema.json").read_text())
        self._cnpg = {
            kind: jsonschema.Draft202012Validator({"$defs": cnpg["$defs"], **schema})
            for kind, schema in cnpg["kinds"].items()
        }
        self._kinds: dict[tuple[str, str], jsonschema.Draft202012Validator] = {}

    def _validator(self, api_version: str, kind: str) -> jsonschema.Draft202012Validator:
        key = (api_version, kind)
        if key not in self._kinds:
            # kubernetes-validate's file naming: apps/v1 → apps-v1, networking.k8s.io/v1 →
            # networking-v1, v1 → v1.
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            resource = self._folder.joinpath(f"{kind.lower()}-{group}.json")
            if not resource.is_file():
                raise LookupError(f"no Kubernetes schema for {api_version} {kind}")
            schema = json.loads(resource.read_text())
            self._kinds[key] = jsonschema.Draft202012Validator(schema, registry=self._registry)
        return self._kinds[key]

    def errors(self, obj: Obj) -> list[str]:
        body = {k: v for k, v in obj.items() if k != "__file__"}
        api_version, kind = body.get("apiVersion", ""), body.get("kind", "")
        if api_version == CNPG_GROUP:
            if kind not in self._cnpg:
                return [f"{ident(obj)}: no schema for CloudNativePG kind {kind}"]
            validator = self._cnpg[kind]
        else:
            try:
                validator = self._validator(api_version, kind)
            except LookupError as error:
                return [f"{ident(obj)}: {error}"]
        return [
            f"{ident(obj)}: {_path(error)}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        ]


# --- cross-checks ------------------------------------------------------------------------------


def _of_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def _named(objects: Iterable[Obj], kind: str, name: str) -> list[Obj]:
    return [obj for obj in _of_kind(objects, kind) if obj["metadata"].get("name") == name]


def _pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def _containers(obj: Obj) -> Iterator[Obj]:
    spec = _pod_spec(obj)
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _generated_secrets(objects: list[Obj]) -> dict[str, set[str] | None]:
    """Secrets created by operators from objects in the render, with the keys they hold."""
    out: dict[str, set[str] | None] = {}
    for cluster in _of_kind(objects, "Cluster"):
        if cluster["apiVersion"] != CNPG_GROUP:
            continue
        name = cluster["metadata"]["name"]
        keys = {"username", "password", "host", "port", "dbname", "uri", "jdbc-uri", "pgpass"}
        out[f"{name}-app"] = keys
        if cluster.get("spec", {}).get("enableSuperuserAccess"):
            out[f"{name}-superuser"] = keys
    return out


def _data_keys(obj: Obj) -> set[str]:
    return set(obj.get("data") or {}) | set(obj.get("stringData") or {})


def cross_check(objects: list[Obj]) -> list[str]:
    """Everything wrong that a schema cannot see, as readable lines; empty when all is well."""
    problems: list[str] = []
    add = problems.append

    namespaces = {obj["metadata"]["name"] for obj in _of_kind(objects, "Namespace")}
    for obj in objects:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] not in CLUSTER_SCOPED and namespace not in namespaces:
            add(f"{ident(obj)}: namespace {namespace!r} is not created by the render")

    secrets: dict[str, set[str] | None] = {
        obj["metadata"]["name"]: _data_keys(obj) for obj in _of_kind(objects, "Secret")
    }
    secrets.update(_generated_secrets(objects))
    config_maps = {
        obj["metadata"]["name"]: _data_keys(obj) for obj in _of_kind(objects, "ConfigMap")
    }
    deployments = _of_kind(objects, "Deployment")

    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            problems.extend(_check_workload(obj, secrets, config_maps))

    for spec in ALL_PROCESSES:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            found = _named(objects, kind, spec.name)
            if len(found) != 1:
                add(f"{kind}/{spec.name}: expected exactly one, found {len(found)}")
    known = {spec.name for spec in ALL_PROCESSES}
    for deployment in deployments:
        if deployment["metadata"]["name"] not in known:
            add(f"{ident(deployment)}: not a process of shared/topology.py")
        else:
            problems.extend(_check_process(deployment))

    for service in _of_kind(objects, "Service"):
        problems.extend(_check_service(service, deployments))

    for hpa in _of_kind(objects, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or not _named(
            deployments, "Deployment", target.get("name")
        ):
            add(f"{ident(hpa)}: scaleTargetRef {target.get('kind')}/{target.get('name')} missing")
        spec_ = hpa["spec"]
        if spec_.get("minReplicas", 1) > spec_["maxReplicas"]:
            add(f"{ident(hpa)}: minReplicas above maxReplicas")

    for pdb in _of_kind(objects, "PodDisruptionBudget"):
        selector = pdb["spec"].get("selector", {}).get("matchLabels") or {}
        hits = [
            d
            for d in deployments
            if _matches(selector, d["spec"]["template"]["metadata"].get("labels") or {})
        ]
        if len(hits) != 1:
            add(f"{ident(pdb)}: selector matches {len(hits)} Deployments, expected 1")

    for ingress in _of_kind(objects, "Ingress"):
        for rule in ingress["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path["backend"].get("service") or {}
                if backend.get("name") != GATEWAY.name:
                    add(f"{ident(ingress)}: backend {backend.get('name')} is not the gateway")
                if (backend.get("port") or {}).get("number") != GATEWAY.port:
                    add(f"{ident(ingress)}: backend port is not {GATEWAY.port}")
    if not _of_kind(objects, "Ingress"):
        add("no Ingress to the gateway")

    config = next(iter(_of_kind(objects, "ConfigMap")), None)
    for cm in _of_kind(objects, "ConfigMap"):
        for key in cm.get("data") or {}:
            if key.startswith("YIBAO_") and key not in KNOWN_ENV:
                add(f"{ident(cm)}: {key} is not a setting (shared/settings.py)")
    data = (config or {}).get("data") or {}
    if config is not None and "YIBAO_SERVICE_URLS" in data:
        urls = json.loads(data["YIBAO_SERVICE_URLS"])
        wanted = {s.name: f"http://{s.name}:{s.port}" for s in SERVICES}
        if urls != wanted:
            add(f"{ident(config)}: YIBAO_SERVICE_URLS {urls} should be {wanted}")
    revocations = f"http://{GATEWAY.name}:{GATEWAY.internal_port}"
    if config is not None and data.get("YIBAO_GATEWAY_INTERNAL_URL") != revocations:
        add(f"{ident(config)}: YIBAO_GATEWAY_INTERNAL_URL is not {revocations}")
    return problems


def _check_workload(
    obj: Obj, secrets: dict[str, set[str] | None], config_maps: dict[str, set[str]]
) -> list[str]:
    problems: list[str] = []
    add = problems.append
    pod = _pod_spec(obj)

    def secret(name: str | None, key: str | None, where: str) -> None:
        if name not in secrets:
            add(f"{ident(obj)}: {where} names Secret {name!r}, not in the render")
        elif key is not None and secrets[name] is not None and key not in (secrets[name] or ()):
            add(f"{ident(obj)}: {where}: Secret {name} has no key {key!r}")

    def config_map(name: str | None, key: str | None, where: str) -> None:
        if name not in config_maps:
            add(f"{ident(obj)}: {where} names ConfigMap {name!r}, not in the render")
        elif key is not None and key not in config_maps[name]:
            add(f"{ident(obj)}: {where}: ConfigMap {name} has no key {key!r}")

    if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
        add(f"{ident(obj)}: the pod does not require runAsNonRoot")
    for volume in pod.get("volumes") or []:
        if "secret" in volume:
            secret(volume["secret"].get("secretName"), None, f"volume {volume['name']}")
        if "configMap" in volume:
            config_map(volume["configMap"].get("name"), None, f"volume {volume['name']}")
    for container in _containers(obj):
        where = f"container {container['name']}"
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                config_map(source["configMapRef"].get("name"), None, f"{where} envFrom")
            if "secretRef" in source:
                secret(source["secretRef"].get("name"), None, f"{where} envFrom")
        defined: set[str] = set()
        for var in container.get("env") or []:
            source = var.get("valueFrom") or {}
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                secret(ref.get("name"), ref.get("key"), f"{where} env {var['name']}")
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                config_map(ref.get("name"), ref.get("key"), f"{where} env {var['name']}")
            # $(X) expands only a variable declared above it; otherwise it stays literal text.
            for used in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", var.get("value") or ""):
                if used not in defined:
                    add(f"{ident(obj)}: {where} env {var['name']} uses $({used}) before it")
            if var["name"].startswith("YIBAO_") and var["name"] not in KNOWN_ENV:
                add(f"{ident(obj)}: {where} env {var['name']} is not a setting")
            if var["name"] == "FORWARDED_ALLOW_IPS":
                # uvicorn's header handling is off; the setting would only mislead.
                add(f"{ident(obj)}: {where} sets FORWARDED_ALLOW_IPS: use YIBAO_TRUSTED_PROXIES")
            defined.add(var["name"])
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(part) or {}):
                add(f"{ident(obj)}: {where} lacks cpu and memory {part}")
        security = container.get("securityContext") or {}
        if not security.get("readOnlyRootFilesystem") or security.get(
            "allowPrivilegeEscalation", True
        ):
            add(f"{ident(obj)}: {where} is not read-only without privilege escalation")
    return problems


def _check_process(deployment: Obj) -> list[str]:
    """A process's Deployment against shared/topology.py."""
    problems: list[str] = []
    add = problems.append
    name = deployment["metadata"]["name"]
    spec = next(s for s in ALL_PROCESSES if s.name == name)
    port, internal = spec.port, spec.internal_port
    template = deployment["spec"]["template"]
    selector = deployment["spec"]["selector"].get("matchLabels") or {}
    if not _matches(selector, template["metadata"].get("labels") or {}):
        add(f"{ident(deployment)}: selector {selector} does not match its pod template's labels")
    annotations = template["metadata"].get("annotations") or {}
    if (
        annotations.get("prometheus.io/scrape") != "true"
        or annotations.get("prometheus.io/path") != "/metrics"
        or annotations.get("prometheus.io/port") != str(internal)
    ):
        # /metrics is answered on the internal port alone (shared/listeners.py).
        add(f"{ident(deployment)}: no Prometheus scrape annotations for /metrics on {internal}")
    main = [c for c in _pod_spec(deployment).get("containers") or [] if c["name"] == name]
    if len(main) != 1:
        return [*problems, f"{ident(deployment)}: no container named {name}"]
    container = main[0]
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    if argv[:3] != ["yibao", "serve", name]:
        add(f"{ident(deployment)}: runs {argv}, not yibao serve {name}")
    for option, value in (("--port", port), ("--internal-port", internal)):
        if option in argv and argv[argv.index(option) + 1 :][:1] != [str(value)]:
            add(f"{ident(deployment)}: {option} is not {value}")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
    if ports != {"http": port, "internal": internal}:
        add(
            f"{ident(deployment)}: containerPorts {ports}, expected http {port}, internal {internal}"
        )
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ):
        get = (container.get(probe) or {}).get("httpGet")
        if get is None:
            if probe != "startupProbe":
                add(f"{ident(deployment)}: no HTTP {probe}")
            continue
        if get.get("path") != path:
            add(f"{ident(deployment)}: {probe} on {get.get('path')}, expected {path}")
        if ports.get(get.get("port"), get.get("port")) != port:
            add(f"{ident(deployment)}: {probe} on port {get.get('port')}, not {port}")
    env = {var["name"]: var.get("value") for var in container.get("env") or []}
    url = env.get("YIBAO_DATABASE_URL") or ""
    if not url.startswith(f"postgresql://yibao_{name}:"):
        add(f"{ident(deployment)}: YIBAO_DATABASE_URL is not role yibao_{name}'s")
    if spec is GATEWAY:
        problems.extend(_check_trusted_proxies(deployment, env.get("YIBAO_TRUSTED_PROXIES")))
    return problems


def _check_trusted_proxies(deployment: Obj, value: str | None) -> list[str]:
    """Behind the Ingress the gateway must trust the ingress controller, and nothing wider."""
    if not value:
        return [f"{ident(deployment)}: YIBAO_TRUSTED_PROXIES is not set (the ingress's network)"]
    try:
        Settings(trusted_proxies=value)
    except ValueError as error:
        return [f"{ident(deployment)}: YIBAO_TRUSTED_PROXIES {value!r}: {error}"]
    return []


def _check_service(service: Obj, deployments: list[Obj]) -> list[str]:
    name = service["metadata"]["name"]
    selector = service["spec"].get("selector") or {}
    targets = [
        d
        for d in deployments
        if _matches(selector, d["spec"]["template"]["metadata"].get("labels") or {})
    ]
    if len(targets) != 1:
        return [f"{ident(service)}: selector matches {len(targets)} Deployments, expected 1"]
    spec = next((s for s in ALL_PROCESSES if s.name == name), None)
    if spec is None:
        return []
    problems = []
    if targets[0]["metadata"]["name"] != name:
        problems.append(f"{ident(service)}: selects Deployment/{targets[0]['metadata']['name']}")
    # The API port; the gateway's internal one too, where the services read the revocations.
    wanted = {"http": spec.port}
    if spec is GATEWAY:
        wanted["internal"] = spec.internal_port
    for port in service["spec"].get("ports") or []:
        number = wanted.get(port.get("name"))
        if number is None or port.get("port") != number or port.get("targetPort") != number:
            problems.append(
                f"{ident(service)}: port {port.get('name')} "
                f"{port.get('port')}→{port.get('targetPort')}, expected one of {wanted}"
            )
    named = {port.get("name") for port in service["spec"].get("ports") or []}
    if named != set(wanted):
        problems.append(f"{ident(service)}: ports {sorted(map(str, named))}, expected {wanted}")
    return problems
