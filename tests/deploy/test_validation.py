"""Schema validation (kubernetes-validate --strict, offline), the check script, and the Dockerfile."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
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


def _stages() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Stage name -> (the stage it starts FROM, its instructions), in Dockerfile order."""
    stages: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    current: list[tuple[str, str]] | None = None
    for word, rest in _instructions():
        if word == "FROM":
            base, _, name = rest.partition(" AS ")
            current = []
            stages[name.strip()] = (base.strip(), current)
        elif current is not None:
            current.append((word, rest))
    return stages


IMAGE_TARGETS = {image: command for image, command in m.COMPONENT_IMAGES.values()} | {
    "emulator": ["python", "-m", "sentinelhub_emulator", "--host", "0.0.0.0", "--port", "8090"]}


def test_dockerfile_is_multistage_slim_and_unprivileged() -> None:
    ins = _instructions()
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for word, rest in ins if word == "ARG" and "=" in rest}
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    stages = _stages()
    assert stages["builder"][0] == stages["runtime"][0] == "${PYTHON_IMAGE}"
    runtime = stages["runtime"][1]
    assert not any(w == "RUN" and "pip install" in r for w, r in runtime), "runtime stage must not build"
    users = [r for w, r in runtime if w == "USER"]
    assert users and users[-1] == "10001:10001", "numeric user, so runAsNonRoot can verify it"
    assert "10001" in "".join(r for w, r in runtime if w == "RUN" and "useradd" in r)
    assert not any(w == "ENTRYPOINT" for w, _ in ins), "ENTRYPOINT would make per-component commands awkward"


def test_dockerfile_has_one_slim_target_per_component() -> None:
    stages = _stages()
    for image, command in IMAGE_TARGETS.items():
        base, ins = stages[image]
        assert base == "runtime", f"{image} must start from the unprivileged runtime stage"
        assert not any(w == "RUN" for w, _ in ins), f"{image}: the final stage must not build"
        assert not any(w == "USER" for w, _ in ins), f"{image}: keeps the runtime stage's user"
        assert ("COPY", f"--from=build-{image} /opt/venv /opt/venv") in ins, image
        cmds = [r for w, r in ins if w == "CMD"]
        assert cmds and json.loads(cmds[-1]) == command, f"{image}: CMD must be the exec form of {command}"
        # its builder installs the project with exactly the group of the same name
        build_base, build = stages[f"build-{image}"]
        assert build_base == "builder"
        installs = re.findall(r'pip install "/src\[([a-z,]+)\]"', " ".join(r for w, r in build if w == "RUN"))
        assert installs == [image], f"build-{image} installs groups {installs}"
    assert list(stages)[-1] == "gateway", "a plain `docker build .` should still give the gateway"
    # the openEO process definitions (vendored from the source pyproject.toml declares) are the
    # compiler's alone, copied into its package before it is built
    vendoring = [n for n, (_, ins) in stages.items()
                 if any("vendor_process_definitions.py" in r for w, r in ins if w == "RUN")]
    assert vendoring == ["build-compiler"]
    (run,) = [r for w, r in stages["build-compiler"][1] if w == "RUN" and "vendor_process_definitions.py" in r]
    assert run.index("vendor_process_definitions.py") < run.index('pip install "/src[compiler]"')


def test_dockerfile_groups_exist_in_pyproject() -> None:
    groups = tomllib.loads((m.ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(IMAGE_TARGETS) <= set(groups)


def test_dockerignore_keeps_the_context_small() -> None:
    entries = {line.strip() for line in (m.ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "tests"} <= entries
    # the compiler stage runs the process-definitions script, which imports its sibling vendoring.py
    assert {"scripts", "!scripts/vendor_process_definitions.py", "!scripts/vendoring.py"} <= entries


def test_hadolint_accepts_the_dockerfile() -> None:
    exe = m.tool("hadolint")
    if exe is None:
        unavailable("hadolint not installed: run scripts/install_k8s_tools.sh")
    proc = subprocess.run([exe, str(m.ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
