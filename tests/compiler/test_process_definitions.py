"""The process definitions come from the source pyproject.toml declares, through
scripts/vendor_process_definitions.py, and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from compiler_svc import process_specs

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))  # the script imports vendoring.py as a sibling, as when it runs
import vendor_process_definitions as vendor  # noqa: E402


def test_the_compiler_reads_the_copy_made_from_the_declared_source():
    # a version bump in pyproject.toml without re-running the script fails here
    assert vendor.recorded_source() == vendor.declared_source()
    assert process_specs.specs_folder() == vendor.TARGET / "1.x"
    ndvi = json.loads((vendor.TARGET / "1.x/ndvi.json").read_text())
    assert process_specs.all_definitions()["ndvi"] == ndvi
    assert process_specs.all_definitions()["load_stac"]["id"] == "load_stac"  # from experimental/


def test_the_script_runs_as_make_setup_and_the_image_build_run_it():
    # run as a file (its folder on sys.path, as for `python scripts/...`): finds vendoring.py; up to date: exit 0
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/vendor_process_definitions.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_extract_takes_only_the_declared_folders(tmp_path):
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/specs/p/1.x/a.json", '{"id": "a"}')
        zf.writestr("pkg/specs/p/1.x/proposals/b.json", '{"id": "b"}')
        zf.writestr("pkg/specs/p/1.x/LICENSE", "licence")
        zf.writestr("pkg/specs/p/1.x/README.md", "readme")
        zf.writestr("pkg/specs/p/2.x/a.json", '{"id": "a2"}')
        zf.writestr("pkg/app.py", "print()")
    target = tmp_path / "out"
    count = vendor.extract(wheel, {"path": "pkg/specs/p", "folders": ["1.x"]}, target)
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert count == 2
    assert files == ["1.x/LICENSE", "1.x/a.json", "1.x/proposals/b.json"]


def test_a_missing_copy_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(process_specs, "DEFINITIONS", tmp_path / "absent")
    with pytest.raises(RuntimeError, match="vendor_process_definitions.py"):
        process_specs.specs_folder()
