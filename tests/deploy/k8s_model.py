"""Rendering the deployment manifests and small helpers to reason about the rendered objects
(pod templates, label selectors, NetworkPolicy reachability)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
CHART = ROOT / "deploy" / "helm" / "openeo-sentinelhub"
HELM_VALUES_DIR = ROOT / "deploy" / "helm"
K8S_VERSION = "1.35.0"
HELM_RELEASE = "openeo-sentinelhub"
HELM_NAMESPACE = "openeo"

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}

# The backend's own components: name -> (python module, port, protocol)
COMPONENTS = {
    "gateway": ("gateway", 8080, "http"),
    "compiler": ("compiler_svc", 50051, "grpc"),
    "executor": ("executor_svc", 50052, "grpc"),
    "tiles": ("tiles_svc", 50053, "grpc"),
    "store": ("store_svc", 50054, "grpc"),
}
# Component -> (image name = Dockerfile target, its default command).
COMPONENT_IMAGES = {
    "gateway": ("gateway", ["python", "-m", "gateway"]),
    "compiler": ("compiler", ["python", "-m", "compiler_svc"]),
    "executor": ("executor", ["python", "-m", "executor_svc"]),
    "tiles": ("tiles", ["python", "-m", "tiles_svc"]),
    "store": ("store", ["python", "-m", "store_svc"]),
}
# Dev-only workloads built from this repository: component label -> image name. The bucket Job
# uses the executor image, which ships botocore.
DEV_IMAGES = {"sentinelhub-emulator": "emulator", "s3-init": "executor"}
GRPC_COMPONENTS = [c for c, (_, _, proto) in COMPONENTS.items() if proto == "grpc"]
ADDR_ENV = {c: f"{c.upper()}_ADDR" for c in GRPC_COMPONENTS}

# Allowed calls between workloads (caller component -> callee component), by component label.
APP_CALLS = {
    ("gateway", "compiler"), ("gateway", "executor"), ("gateway", "tiles"), ("gateway", "store"),
    ("compiler", "store"),
    ("executor", "store"),
    ("tiles", "compiler"), ("tiles", "executor"), ("tiles", "store"),
    # the dask cluster of the executors' chunked runs
    ("executor", "dask-scheduler"), ("executor", "dask-worker"),
    ("dask-worker", "dask-scheduler"), ("dask-scheduler", "dask-worker"),
}
# Extra in-cluster calls when the dev dependencies are rendered.
DEV_CALLS = {
    ("store", "mongodb"),
    ("executor", "s3"), ("s3-init", "s3"),
    ("executor", "seaweedfs"), ("s3-init", "seaweedfs"),
    ("executor", "sentinelhub-emulator"), ("tiles", "sentinelhub-emulator"),
    ("gateway", "sentinelhub-emulator"), ("compiler", "sentinelhub-emulator"),
}


def tool(name: str) -> str | None:
    """A binary from the project venv (scripts/install_k8s_tools.sh), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    return shutil.which(name)


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def overlays() -> list[str]:
    return sorted(p.name for p in (K8S_DIR / "overlays").iterdir() if (p / "kustomization.yaml").is_file())


def helm_value_sets() -> dict[str, Path | None]:
    sets: dict[str, Path | None] = {"default": None}
    for f in sorted(HELM_VALUES_DIR.glob("values-*.yaml")):
        sets[f.stem.removeprefix("values-")] = f
    return sets


@dataclass
class Render:
    name: str
    text: str
    docs: list[dict[str, Any]]
    namespace: str | None  # namespace the objects land in (None: taken from metadata)

    @property
    def is_dev(self) -> bool:
        return self.name.endswith("-dev")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for d in self.of_kind(kind):
            if d["metadata"]["name"] == name:
                return d
        raise KeyError(f"{kind}/{name} not in {self.name}")

    def ns_of(self, obj: dict[str, Any]) -> str | None:
        return obj["metadata"].get("namespace") or self.namespace


def parse(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def render_kustomize(overlay: str) -> Render:
    text = run([tool("kubectl") or "kubectl", "kustomize", str(K8S_DIR / "overlays" / overlay)])
    return Render(f"kustomize-{overlay}", text, parse(text), None)


def render_helm(value_set: str, values: Path | None, extra: list[str] | None = None) -> Render:
    cmd = [tool("helm") or "helm", "template", HELM_RELEASE, str(CHART), "--namespace", HELM_NAMESPACE,
           "--kube-version", K8S_VERSION]
    if values is not None:
        cmd += ["-f", str(values)]
    cmd += extra or []
    text = run(cmd)
    return Render(f"helm-{value_set}", text, parse(text), HELM_NAMESPACE)


# ---- pod templates ---------------------------------------------------------------------------

def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]
    return workload["spec"]["template"]


def workloads(render: Render) -> Iterator[dict[str, Any]]:
    for d in render.docs:
        if d.get("kind") in WORKLOAD_KINDS:
            yield d


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec.get("initContainers", [])) + list(pod_spec.get("containers", []))


def component_of(workload: dict[str, Any]) -> str:
    return pod_template(workload)["metadata"]["labels"].get("app.kubernetes.io/component", "")


def app_deployment(render: Render, component: str) -> dict[str, Any]:
    found = [d for d in render.of_kind("Deployment") if component_of(d) == component]
    assert len(found) == 1, f"{render.name}: expected one Deployment for {component}, found {len(found)}"
    return found[0]


# ---- label selectors -------------------------------------------------------------------------

def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes LabelSelector semantics (matchLabels + matchExpressions); {} matches all."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ---- NetworkPolicy reachability --------------------------------------------------------------

def _port_allowed(rule: dict[str, Any], port: int, named: dict[str, int]) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        value = p.get("port")
        if value is None:
            return True
        if isinstance(value, str):
            value = named.get(value)
        end = p.get("endPort", value)
        if value is not None and value <= port <= end:
            return True
    return False


def _peer_matches_pod(peer: dict[str, Any], labels: dict[str, str], same_namespace: bool) -> bool:
    """Does a NetworkPolicy peer select an in-cluster pod? ipBlocks are taken to mean
    cluster-external destinations (pod IPs are not meant to be matched by them)."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        # Only an empty namespaceSelector ({}: all namespaces) is known to include ours.
        if peer["namespaceSelector"] != {}:
            return False
    elif not same_namespace:
        return False
    return selector_matches(peer.get("podSelector", {}), labels)


def _rules(policy: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    return policy["spec"].get(direction) or []


def _applies(policy: dict[str, Any], labels: dict[str, str], ptype: str) -> bool:
    types = policy["spec"].get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in policy["spec"] else []))
    return ptype in types and selector_matches(policy["spec"].get("podSelector", {}), labels)


def allowed(policies: list[dict[str, Any]], src: dict[str, str], dst: dict[str, str], port: int,
            dst_named_ports: dict[str, int] | None = None) -> bool:
    """Can a pod with labels `src` open TCP `port` on a pod with labels `dst` (same namespace)?"""
    ingress_ok, egress_ok = allowed_sides(policies, src, dst, port, dst_named_ports)
    return ingress_ok and egress_ok


def allowed_sides(policies: list[dict[str, Any]], src: dict[str, str], dst: dict[str, str], port: int,
                  dst_named_ports: dict[str, int] | None = None) -> tuple[bool, bool]:
    """(ingress of dst admits it, egress of src admits it) for a TCP connection src -> dst:port."""
    named = dst_named_ports or {}
    ingress_pols = [p for p in policies if _applies(p, dst, "Ingress")]
    egress_pols = [p for p in policies if _applies(p, src, "Egress")]
    ingress_ok = not ingress_pols or any(
        _port_allowed(rule, port, named)
        and ("from" not in rule or any(_peer_matches_pod(peer, src, True) for peer in rule["from"]))
        for pol in ingress_pols for rule in _rules(pol, "ingress")
    )
    egress_ok = not egress_pols or any(
        _port_allowed(rule, port, named)
        and ("to" not in rule or any(_peer_matches_pod(peer, dst, True) for peer in rule["to"]))
        for pol in egress_pols for rule in _rules(pol, "egress")
    )
    return ingress_ok, egress_ok


def ingress_open_to_outside(policies: list[dict[str, Any]], dst: dict[str, str], port: int) -> bool:
    """Is `port` on the pod reachable from something other than a same-namespace pod selector
    (any source, another namespace, or an IP block)?"""
    for pol in policies:
        if not _applies(pol, dst, "Ingress"):
            continue
        for rule in _rules(pol, "ingress"):
            if not _port_allowed(rule, port, {}):
                continue
            if "from" not in rule or not rule["from"]:
                return True
            for peer in rule["from"]:
                if "ipBlock" in peer or "namespaceSelector" in peer:
                    return True
    return False


def external_egress_ports(policies: list[dict[str, Any]], src: dict[str, str]) -> set[int | str]:
    """Ports the pod may reach outside the cluster (rules with ipBlock peers or no `to`)."""
    ports: set[int | str] = set()
    for pol in policies:
        if not _applies(pol, src, "Egress"):
            continue
        for rule in _rules(pol, "egress"):
            peers = rule.get("to")
            if peers and not any("ipBlock" in p for p in peers):
                continue
            for p in rule.get("ports") or [{"port": "any"}]:
                ports.add(p.get("port", "any"))
    return ports
