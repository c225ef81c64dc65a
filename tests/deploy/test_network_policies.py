"""NetworkPolicies: default deny plus exactly the allowed calls."""

from __future__ import annotations

from tests.deploy import k8s_model as m


def _pods(render: m.Render) -> dict[str, tuple[dict[str, str], dict[str, int]]]:
    """component -> (pod labels, named container ports)"""
    pods = {}
    for w in m.workloads(render):
        tpl = m.pod_template(w)
        named = {p["name"]: p["containerPort"] for c in tpl["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
        pods[tpl["metadata"]["labels"]["app.kubernetes.io/component"]] = (tpl["metadata"]["labels"], named)
    return pods


def test_default_deny_ingress_and_egress(render: m.Render) -> None:
    policies = render.of_kind("NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] in ({}, None)
            and {"Ingress", "Egress"} <= set(p["spec"].get("policyTypes", []))
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, f"{render.name}: no default-deny NetworkPolicy"


def test_dns_egress_allowed_for_everyone(render: m.Render) -> None:
    policies = render.of_kind("NetworkPolicy")
    for component, (labels, _) in _pods(render).items():
        for proto in ("UDP", "TCP"):
            ok = any(
                m._applies(p, labels, "Egress") and any(
                    any(port.get("port") == 53 and port.get("protocol", "TCP") == proto for port in rule.get("ports", []))
                    for rule in p["spec"].get("egress") or [])
                for p in policies)
            assert ok, f"{render.name}: {component} cannot resolve DNS over {proto}"


def test_only_the_allowed_calls_between_pods(render: m.Render) -> None:
    """Full matrix: every pair of pods in the render, on the callee's container ports."""
    policies = render.of_kind("NetworkPolicy")
    pods = _pods(render)
    expected = m.APP_CALLS | (m.DEV_CALLS if render.is_dev else set())
    wrong = []
    for src, (src_labels, _) in pods.items():
        for dst, (dst_labels, named) in pods.items():
            if src == dst:
                continue
            for port in set(named.values()):
                got = m.allowed(policies, src_labels, dst_labels, port, named)
                if got != ((src, dst) in expected):
                    wrong.append(f"{src} -> {dst}:{port} {'allowed' if got else 'denied'}")
    assert not wrong, f"{render.name}:\n" + "\n".join(sorted(wrong))


def test_store_reachable_only_from_the_services(render: m.Render) -> None:
    policies = render.of_kind("NetworkPolicy")
    pods = _pods(render)
    store_labels, _ = pods["store"]
    port = m.COMPONENTS["store"][1]
    callers = {c for c, (labels, _) in pods.items() if c != "store" and m.allowed(policies, labels, store_labels, port)}
    assert callers == {"gateway", "compiler", "executor", "tiles"}
    assert not m.ingress_open_to_outside(policies, store_labels, port), "store open to other namespaces/IPs"
    # a pod of some other app in the namespace cannot call it either
    stranger = {"app.kubernetes.io/name": "something-else", "app.kubernetes.io/component": "x"}
    assert not m.allowed(policies, stranger, store_labels, port)


def test_external_egress_only_where_needed(render: m.Render) -> None:
    policies = render.of_kind("NetworkPolicy")
    pods = _pods(render)
    ext = {c: m.external_egress_ports(policies, pods[c][0]) - {53} for c in m.COMPONENTS}
    assert ext["compiler"] == {443}  # Sentinel Hub's BYOC API
    assert ext["executor"] == {443}  # Sentinel Hub + S3
    assert ext["tiles"] == {443}
    assert ext["store"] == {27017}  # MongoDB
    assert ext["gateway"] <= {443}  # OIDC JWKS only
    for component in ("compiler", "executor", "tiles", "store"):
        assert not m.ingress_open_to_outside(policies, pods[component][0], m.COMPONENTS[component][1]), component


def test_policy_model_detects_a_dropped_allow(render: m.Render) -> None:
    """Guard for the checker itself: removing the store policy must break the store calls."""
    policies = [p for p in render.of_kind("NetworkPolicy")
                if not (p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == "store")]
    pods = _pods(render)
    assert not m.allowed(policies, pods["gateway"][0], pods["store"][0], m.COMPONENTS["store"][1])


def test_each_side_allows_only_the_allowed_calls(render: m.Render) -> None:
    """Egress of the caller and ingress of the callee are each tight on their own (an over-broad
    egress rule is a bug even while the callee's ingress still blocks it)."""
    policies = render.of_kind("NetworkPolicy")
    pods = _pods(render)
    expected = m.APP_CALLS | (m.DEV_CALLS if render.is_dev else set())
    gateway_labels, _ = pods["gateway"]
    gateway_open = m.ingress_open_to_outside(policies, gateway_labels, m.COMPONENTS["gateway"][1])
    wrong = []
    for src, (src_labels, _) in pods.items():
        for dst, (dst_labels, named) in pods.items():
            if src == dst:
                continue
            for port in set(named.values()):
                ingress_ok, egress_ok = m.allowed_sides(policies, src_labels, dst_labels, port, named)
                want = (src, dst) in expected
                if egress_ok != want:
                    wrong.append(f"egress of {src} -> {dst}:{port} {'allowed' if egress_ok else 'denied'}")
                if ingress_ok != want and not (dst == "gateway" and gateway_open and ingress_ok):
                    wrong.append(f"ingress of {dst}:{port} from {src} {'allowed' if ingress_ok else 'denied'}")
    assert not wrong, f"{render.name}:\n" + "\n".join(sorted(wrong))
