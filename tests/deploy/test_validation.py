"""Schema validation (kubernetes-validate --strict, offline), the check script, and the Dockerfile."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.availability import unavailable
from tests.deploy import k8s_model as m

FIXTURES = Path(__file__).parent / "fixtures"
BROKEN = {
    "unknown-field.yaml": "'imagePullPolcy' was unexpected",
    "wrong-type.yaml": "'eighty' is not of type 'integer'",
    "missing-required.yaml": "'name' is a required property",
    "misplaced-probe.yaml": "'readinessProbe' was unexpected",
}


def _validate(path: Path, strict: bool = True) -> subprocess.CompletedProcess[str]:
    exe = m.tool("kubernetes-validate")
    if exe is None:
        unavailable("kubernetes-validate not installed: run scripts/install_k8s_tools.sh")
    cmd = [exe, "--quiet", "-k", m.K8S_VERSION, str(path)]
    if strict:
        cmd.insert(1, "--strict")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_every_broken_fixture_is_listed() -> None:
    assert sorted(p.name for p in (FIXTURES / "broken").glob("*.yaml")) == sorted(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_fixture_is_rejected(name: str) -> None:
    proc = _validate(FIXTURES / "broken" / name)
    assert proc.returncode != 0, f"{name} passed validation:\n{proc.stdout}{proc.stderr}"
    assert BROKEN[name] in proc.stdout + proc.stderr


def test_valid_fixture_is_accepted() -> None:
    proc = _validate(FIXTURES / "valid" / "deployment.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unknown_fields_are_only_caught_in_strict_mode() -> None:
    """Why the checks use --strict: a typo'd field is silently dropped otherwise."""
    assert _validate(FIXTURES / "broken" / "unknown-field.yaml", strict=False).returncode == 0
    assert _validate(FIXTURES / "broken" / "unknown-field.yaml", strict=True).returncode != 0


def test_rendered_manifests_pass_strict_validation(render: m.Render, tmp_path: Path) -> None:
    out = tmp_path / f"{render.name}.yaml"
    out.write_text(render.text)
    proc = _validate(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _need_tools() -> None:
    missing = [t for t in ("kubectl", "helm", "kubernetes-validate") if m.tool(t) is None]
    if missing:
        unavailable(f"{', '.join(missing)} not installed: run scripts/install_k8s_tools.sh")


def _copy_project(dst: Path) -> None:
    shutil.copytree(m.ROOT / "deploy", dst / "deploy")
    (dst / "scripts").mkdir()
    shutil.copy2(m.ROOT / "scripts" / "check_k8s.sh", dst / "scripts" / "check_k8s.sh")
    shutil.copy2(m.ROOT / "Dockerfile", dst / "Dockerfile")


def _run_check(root: Path) -> subprocess.CompletedProcess[str]:
    venv = Path(m.tool("kubectl")).parent.parent  # the venv the tools live in
    env = {**os.environ, "VENV": str(venv)}
    return subprocess.run(["bash", str(root / "scripts" / "check_k8s.sh")], capture_output=True, text=True,
                          timeout=600, env=env)


def test_check_script_passes_on_the_repo(tmp_path: Path) -> None:
    _need_tools()
    _copy_project(tmp_path)
    proc = _run_check(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ["kustomize-dev", "kustomize-production", "helm-default", "helm-dev", "helm-production"]:
        assert f"ok    validate {name}" in proc.stdout
    assert "ok    helm lint --strict (default values)" in proc.stdout


def test_check_script_reports_every_broken_render_and_fails(tmp_path: Path) -> None:
    """An invalid overlay and a chart value that renders an invalid PDB: both are reported, the
    remaining renders still run, and the script exits non-zero."""
    _need_tools()
    _copy_project(tmp_path)
    bad = tmp_path / "deploy" / "k8s" / "overlays" / "zz-broken"
    bad.mkdir()
    shutil.copy2(FIXTURES / "broken" / "unknown-field.yaml", bad / "deployment.yaml")
    (bad / "kustomization.yaml").write_text("resources:\n  - deployment.yaml\n")
    values = tmp_path / "deploy" / "helm" / "openeo-sentinelhub" / "values.yaml"
    text = values.read_text()
    assert "  maxUnavailable: 1\n" in text
    values.write_text(text.replace("  maxUnavailable: 1\n", "  maxUnavailable: [1]\n"))
    proc = _run_check(tmp_path)
    assert proc.returncode != 0
    assert "FAIL  validate kustomize-zz-broken" in proc.stderr
    assert "FAIL  validate helm-default" in proc.stderr
    assert "ok    validate kustomize-production" in proc.stdout  # the others still ran


# ---- Dockerfile ------------------------------------------------------------------------------

def _instructions() -> list[tuple[str, str]]:
    text = (m.ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_is_multistage_slim_and_unprivileged() -> None:
    ins = _instructions()
    froms = [rest for word, rest in ins if word == "FROM"]
    assert len(froms) == 2 and "AS builder" in froms[0] and "AS runtime" in froms[1]
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for word, rest in ins if word == "ARG" and "=" in rest}
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    runtime = ins[[i for i, (w, _) in enumerate(ins) if w == "FROM"][1]:]
    assert any(w == "RUN" and "pip install ." in r for w, r in ins[: len(ins) - len(runtime)])
    assert not any(w == "RUN" and "pip install" in r for w, r in runtime), "runtime stage must not build"
    assert any(w == "COPY" and r.startswith("--from=builder /opt/venv") for w, r in runtime)
    users = [r for w, r in runtime if w == "USER"]
    assert users and users[-1].split(":")[0] == "10001"
    cmds = [r for w, r in runtime if w == "CMD"]
    assert cmds and cmds[-1].startswith("["), "CMD must be exec form (overridable, no shell)"
    assert not any(w == "ENTRYPOINT" for w, _ in ins), "ENTRYPOINT would make per-component commands awkward"
    assert "uid" not in "".join(r for w, r in runtime if w == "USER") and "10001" in "".join(
        r for w, r in runtime if w == "RUN" and "useradd" in r)


def test_dockerignore_keeps_the_context_small() -> None:
    entries = {line.strip() for line in (m.ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "tests"} <= entries


def test_hadolint_accepts_the_dockerfile() -> None:
    exe = m.tool("hadolint")
    if exe is None:
        pytest.skip("hadolint not installed: run scripts/install_k8s_tools.sh")
    proc = subprocess.run([exe, str(m.ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
