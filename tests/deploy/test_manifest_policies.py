"""Policies every rendered deployment (kustomize overlays and Helm values sets) must keep."""

from __future__ import annotations

import re

import pytest

from tests.availability import unavailable
from tests.deploy import k8s_model as m


def test_all_renders_are_present(render: m.Render) -> None:
    assert render.docs, f"{render.name} rendered nothing"
    for component in m.COMPONENTS:
        m.app_deployment(render, component)


def test_expected_render_set() -> None:
    assert {"dev", "production"} <= set(m.overlays())
    assert {"default", "dev", "production"} <= set(m.helm_value_sets())


def _container_problems(workload: dict, container: dict, pod_spec: dict) -> list[str]:
    where = f"{workload['kind']}/{workload['metadata']['name']} container {container['name']}"
    problems = []
    pod_sc = pod_spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
        problems.append(f"{where}: runAsNonRoot is not true")
    run_as_user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if run_as_user == 0:
        problems.append(f"{where}: runs as uid 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        problems.append(f"{where}: privileged")
    drop = (sc.get("capabilities") or {}).get("drop") or []
    if "ALL" not in drop:
        problems.append(f"{where}: capabilities.drop does not contain ALL")
    if (sc.get("capabilities") or {}).get("add"):
        problems.append(f"{where}: adds capabilities")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        problems.append(f"{where}: seccompProfile is {seccomp!r}, not RuntimeDefault")
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if not (resources.get(section) or {}).get(res):
                problems.append(f"{where}: resources.{section}.{res} missing")
    if workload["kind"] in m.LONG_RUNNING_KINDS and container in pod_spec.get("containers", []):
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                problems.append(f"{where}: {probe} missing")
    # read-only root fs: /tmp must be a writable emptyDir
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    tmp = [vm for vm in container.get("volumeMounts", []) if vm["mountPath"] == "/tmp"]
    if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
        problems.append(f"{where}: no emptyDir mounted at /tmp")
    return problems


def test_every_container_is_hardened_and_sized(render: m.Render) -> None:
    problems: list[str] = []
    count = 0
    for workload in m.workloads(render):
        pod_spec = m.pod_template(workload)["spec"]
        if pod_spec.get("hostNetwork") or pod_spec.get("hostPID") or pod_spec.get("hostIPC"):
            problems.append(f"{workload['metadata']['name']}: uses host namespaces")
        for container in m.containers(pod_spec):
            count += 1
            problems += _container_problems(workload, container, pod_spec)
    assert count >= len(m.COMPONENTS)
    assert not problems, f"{render.name}:\n" + "\n".join(problems)


def test_service_accounts_do_not_mount_api_tokens(render: m.Render) -> None:
    for workload in m.workloads(render):
        spec = m.pod_template(workload)["spec"]
        assert spec.get("automountServiceAccountToken") is False, workload["metadata"]["name"]


def test_components_run_their_module_with_native_probes(render: m.Render) -> None:
    for component, (module, port, proto) in m.COMPONENTS.items():
        dep = m.app_deployment(render, component)
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", module]
        assert [p["containerPort"] for p in container["ports"]] == [port]
        if proto == "grpc":
            for probe in ("livenessProbe", "readinessProbe"):
                assert container[probe].get("grpc", {}).get("port") == port, f"{component} {probe}"
            listen = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert listen[f"{component.upper()}_LISTEN"] == f"0.0.0.0:{port}"
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env["GATEWAY_HOST"] == "0.0.0.0"
            assert env["GATEWAY_PORT"] == str(port)


def _split_image(ref: str) -> tuple[str, str, str]:
    """registry/prefix/name:tag -> (registry/prefix, name, tag)."""
    repository, _, tag = ref.rpartition(":")
    prefix, _, name = repository.rpartition("/")
    return prefix, name, tag


def test_each_component_runs_its_own_image(render: m.Render) -> None:
    # component label -> image name (the Dockerfile target); the bucket Job borrows the executor
    # image because that one ships botocore
    expected = {c: image for c, (image, _) in m.COMPONENT_IMAGES.items()}
    if render.is_dev:
        expected |= m.DEV_IMAGES
    refs = {}
    for workload in m.workloads(render):
        component = m.component_of(workload)
        if component in expected:
            (container,) = m.pod_template(workload)["spec"]["containers"]
            refs[component] = container["image"]
    assert refs.keys() == expected.keys(), f"{render.name}: {sorted(refs)}"
    split = {c: _split_image(ref) for c, ref in refs.items()}
    for component, (prefix, name, tag) in split.items():
        assert name == expected[component], f"{render.name}: {component} runs {refs[component]}"
        assert prefix and tag and tag != "latest", refs[component]
    # one registry/prefix and one tag for the whole release: the images are built together
    assert len({p for p, _, _ in split.values()}) == 1, f"{render.name}: {refs}"
    assert len({t for _, _, t in split.values()}) == 1, f"{render.name}: {refs}"


def test_helm_image_of_one_component_can_be_overridden() -> None:
    if m.tool("helm") is None:
        unavailable("helm not installed: run scripts/install_k8s_tools.sh")
    r = m.render_helm("override", None, ["--set", "image.tag=9.9.9",
                                         "--set", "executor.image.repository=reg.example/exec",
                                         "--set", "executor.image.tag=1.2.3"])
    images = {c: m.app_deployment(r, c)["spec"]["template"]["spec"]["containers"][0]["image"]
              for c in m.COMPONENTS}
    assert images["executor"] == "reg.example/exec:1.2.3"
    assert images["gateway"] == "ghcr.io/example-org/openeo-sentinelhub/gateway:9.9.9"
    assert images["store"] == "ghcr.io/example-org/openeo-sentinelhub/store:9.9.9"


def test_graceful_termination_covers_the_drain(render: m.Render) -> None:
    for component in m.COMPONENTS:
        spec = m.app_deployment(render, component)["spec"]["template"]["spec"]
        grace = spec.get("terminationGracePeriodSeconds", 30)
        (container,) = spec["containers"]
        pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
        sleep = (pre_stop.get("sleep") or {}).get("seconds")
        assert sleep and 1 <= sleep <= 15, f"{component}: preStop sleep missing or odd ({pre_stop})"
        # preStop sleep + ~20 s drain must fit inside the grace period.
        assert grace >= 30 and grace >= sleep + 20 + 3, f"{component}: grace {grace}s too short"


def test_every_deployment_has_a_pdb_and_topology_spread(render: m.Render) -> None:
    pdbs = render.of_kind("PodDisruptionBudget")
    for dep in render.of_kind("Deployment"):
        name = dep["metadata"]["name"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert m.selector_matches(dep["spec"]["selector"], labels), f"{name}: selector does not match pods"
        matching = [p for p in pdbs if m.selector_matches(p["spec"]["selector"], labels)]
        assert len(matching) == 1, f"{name}: {len(matching)} PodDisruptionBudgets select its pods"
        pdb = matching[0]["spec"]
        # Must not block voluntary evictions forever for 1-replica installs.
        assert "maxUnavailable" in pdb or pdb.get("minAvailable") not in (None, 1, "100%")
        spread = dep["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
        assert spread, f"{name}: no topologySpreadConstraints"
        keys = {c["topologyKey"] for c in spread}
        assert "kubernetes.io/hostname" in keys, f"{name}: not spread over nodes"
        for c in spread:
            assert m.selector_matches(c["labelSelector"], labels), f"{name}: spread selector misses its pods"


def test_hpa_for_executor_and_tiles(render: m.Render) -> None:
    hpas = render.of_kind("HorizontalPodAutoscaler")
    targets = {}
    for hpa in hpas:
        assert hpa["apiVersion"] == "autoscaling/v2"
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment"
        targets[ref["name"]] = hpa
    for component in ("executor", "tiles"):
        dep = m.app_deployment(render, component)
        hpa = targets.get(dep["metadata"]["name"])
        assert hpa is not None, f"{render.name}: no HPA for {component}"
        metrics = hpa["spec"]["metrics"]
        assert any(x["type"] == "Resource" and x["resource"]["name"] == "cpu" for x in metrics)
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # The HPA owns the replica count; a fixed one would be reset on every apply.
        assert "replicas" not in dep["spec"], f"{component}: spec.replicas fights the HPA"
        # Utilization targets need CPU requests.
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["requests"]["cpu"]


def test_grpc_addresses_point_at_headless_services(render: m.Render) -> None:
    for component in m.GRPC_COMPONENTS:
        port = m.COMPONENTS[component][1]
        dep = m.app_deployment(render, component)
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        for user in m.COMPONENTS:
            user_dep = m.app_deployment(render, user)
            (container,) = user_dep["spec"]["template"]["spec"]["containers"]
            cm_names = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
            assert cm_names, f"{user}: no ConfigMap in envFrom"
            cm = render.get("ConfigMap", cm_names[0])
            addr = cm["data"][m.ADDR_ENV[component]]
            match = re.fullmatch(r"dns:///([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)", addr)
            assert match, f"{m.ADDR_ENV[component]}={addr!r} is not a dns:/// FQDN target"
            svc_name, ns, addr_port = match.group(1), match.group(2), int(match.group(3))
            svc = render.get("Service", svc_name)
            assert svc["spec"].get("clusterIP") == "None", f"{svc_name} is not headless"
            assert render.ns_of(svc) == ns, f"{addr}: Service lives in {render.ns_of(svc)}"
            assert render.ns_of(dep) == ns
            assert m.selector_matches(svc["spec"]["selector"], pod_labels), f"{svc_name} does not select {component}"
            assert addr_port == port
            assert port in [p["port"] for p in svc["spec"]["ports"]]
            assert not svc["spec"].get("publishNotReadyAddresses"), "unready pods must not get calls"


def test_secrets_are_referenced_not_inlined(render: m.Render) -> None:
    secret_keys = {"SH_CLIENT_ID", "SH_CLIENT_SECRET", "MONGODB_URI", "AWS_ACCESS_KEY_ID",
                   "AWS_SECRET_ACCESS_KEY", "RESULT_SIGNING_SECRET"}
    for cm in render.of_kind("ConfigMap"):
        assert not secret_keys & set(cm.get("data", {})), f"secret values in ConfigMap {cm['metadata']['name']}"
    needs = {"executor": {"SH_CLIENT_ID", "SH_CLIENT_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
             "tiles": {"SH_CLIENT_ID", "SH_CLIENT_SECRET"},
             "store": {"MONGODB_URI"}, "gateway": {"RESULT_SIGNING_SECRET"},
             # the compiler looks up BYOC collections in Sentinel Hub's BYOC API (OIDC users: this account)
             "compiler": {"SH_CLIENT_ID", "SH_CLIENT_SECRET"}}
    secrets = {s["metadata"]["name"]: s for s in render.of_kind("Secret")}
    for component, wanted in needs.items():
        (container,) = m.app_deployment(render, component)["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container.get("env", [])}
        for key in secret_keys & set(env):
            assert "secretKeyRef" in env[key].get("valueFrom", {}), f"{component}: {key} not from a Secret"
        assert wanted <= set(env), f"{component}: missing {wanted - set(env)}"
        # least privilege: e.g. the compiler and tiles get no S3 keys, the store no Sentinel Hub account
        extra = (secret_keys & set(env)) - wanted
        assert not extra, f"{component}: gets secrets it does not need: {extra}"
        if render.is_dev:
            # dev renders create every referenced Secret (with the referenced key)
            for key in secret_keys & set(env):
                ref = env[key]["valueFrom"]["secretKeyRef"]
                assert ref["name"] in secrets, f"{render.name}: Secret {ref['name']} not rendered"
                data = {**secrets[ref["name"]].get("data", {}), **secrets[ref["name"]].get("stringData", {})}
                assert ref["key"] in data
    if not render.is_dev:
        assert not secrets, f"{render.name} must not ship Secrets: {sorted(secrets)}"


def test_dev_parts_only_in_dev(render: m.Render) -> None:
    components = {m.component_of(w) for w in m.workloads(render)}
    dev_parts = {"mongodb", "s3", "seaweedfs", "sentinelhub-emulator", "s3-init"}
    if render.is_dev:
        assert {"mongodb", "sentinelhub-emulator"} <= components
        assert components & {"s3", "seaweedfs"}
        for sts in render.of_kind("StatefulSet"):
            assert sts["spec"].get("volumeClaimTemplates"), f"{sts['metadata']['name']} has no PVC"
        for component in ("gateway", "compiler", "store"):
            assert m.app_deployment(render, component)["spec"]["replicas"] == 1
        for hpa in render.of_kind("HorizontalPodAutoscaler"):
            assert hpa["spec"]["minReplicas"] == 1
    else:
        assert not components & dev_parts, f"{render.name} contains dev parts {components & dev_parts}"
        assert not render.of_kind("StatefulSet")


def test_production_scales_out(render_by_name) -> None:
    for name in ("kustomize-production", "helm-production"):
        render = render_by_name(name)
        for component in ("gateway", "compiler", "store"):
            assert m.app_deployment(render, component)["spec"]["replicas"] >= 2, f"{name} {component}"
        for hpa in render.of_kind("HorizontalPodAutoscaler"):
            assert hpa["spec"]["minReplicas"] >= 2
        ingresses = render.of_kind("Ingress")
        assert len(ingresses) == 1 and ingresses[0]["spec"].get("tls"), f"{name}: no TLS ingress"
        backend = ingresses[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        assert backend == m.app_deployment(render, "gateway")["metadata"]["name"]


@pytest.mark.parametrize("value_set", ["default", "production"])
def test_helm_notes_say_how_to_reach_the_api(value_set: str) -> None:
    helm = m.tool("helm")
    if helm is None:
        unavailable("helm not installed: run scripts/install_k8s_tools.sh")
    cmd = [helm, "install", m.HELM_RELEASE, str(m.CHART), "--namespace", m.HELM_NAMESPACE, "--dry-run=client"]
    values = m.helm_value_sets()[value_set]
    if values is not None:
        cmd += ["-f", str(values)]
    out = m.run(cmd)
    notes = out[out.index("NOTES:"):]
    if value_set == "production":
        assert "https://openeo.example.com/" in notes
    else:
        assert f"port-forward svc/{m.HELM_RELEASE}-gateway 8080:8080" in notes
    # the Secrets to create are listed when the chart does not create them
    for secret in ("openeo-sentinelhub-credentials", "openeo-mongodb", "openeo-s3", "openeo-result-signing"):
        assert secret in notes
