"""The import-linter contracts in pyproject.toml hold for the code and catch real violations.

`make test` runs `lint-imports` before pytest; these tests run the same command on the project and
on a copy of it with forbidden imports injected, so a contract that can no longer fail (a typo in a
module name, a dropped package) is noticed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(project: Path) -> tuple[int, dict[str, str]]:
    """Exit code and each contract's verdict (KEPT / BROKEN) by contract id, run inside `project`."""
    proc = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=project, capture_output=True, text=True,
                          timeout=120)
    flat = re.sub(r"\s+", " ", proc.stdout)
    verdicts = {}
    for contract in CONFIG["contracts"]:
        name = re.sub(r"\s+", " ", contract["name"])
        match = re.search(re.escape(name) + r" (KEPT|BROKEN)", flat)
        assert match, f"no verdict for {contract['id']!r} in:\n{proc.stdout}\n{proc.stderr}"
        verdicts[contract["id"]] = match.group(1)
    return proc.returncode, verdicts


def copy_project(dest: Path) -> Path:
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.txt"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def append(module_file: Path, line: str) -> None:
    module_file.write_text(module_file.read_text() + f"\n{line}\n")


def test_every_contract_is_kept_by_the_code():
    code, verdicts = lint_imports(ROOT)
    assert verdicts == {c["id"]: "KEPT" for c in CONFIG["contracts"]}
    assert code == 0


def test_contracts_fail_on_forbidden_imports(tmp_path):
    project = copy_project(tmp_path)
    code, verdicts = lint_imports(project)
    assert code == 0 and set(verdicts.values()) == {"KEPT"}, verdicts  # the copy is faithful

    append(project / "gateway/errors.py", "from store_svc import errors as _store_errors  # noqa")
    append(project / "store_svc/jobs.py", "import numpy  # noqa")
    append(project / "backend_common/config.py", "import store_svc.errors  # noqa")
    append(project / "compiler_svc/graph.py", "from compiler_svc.planning import planner  # noqa")
    append(project / "executor_svc/processes/math.py", "from executor_svc.batch import retry  # noqa")
    code, verdicts = lint_imports(project)

    assert code == 1
    assert verdicts["services-independent"] == "BROKEN"
    assert verdicts["no-raster-stack-in-light-services"] == "BROKEN"
    assert verdicts["shared-packages-import-no-service"] == "BROKEN"
    assert verdicts["compiler-layers"] == "BROKEN"
    assert verdicts["no-sibling-cycles"] == "BROKEN"
    assert verdicts["executor-building-blocks"] == "BROKEN"
    # an unrelated contract stays kept: the verdicts are per contract, not all-or-nothing
    assert verdicts["executor-independent-blocks"] == "KEPT"


def test_a_new_compiler_module_must_be_placed_in_a_layer(tmp_path):
    project = copy_project(tmp_path)
    (project / "compiler_svc/stray.py").write_text('"""Not in any layer."""\n')
    code, verdicts = lint_imports(project)
    assert code == 1 and verdicts["compiler-layers"] == "BROKEN"
