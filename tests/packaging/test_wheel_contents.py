"""The installable package (what the Docker image gets) carries every file the services read."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_has_code_and_data_files(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("gateway/__main__.py", "compiler_svc/__main__.py", "executor_svc/__main__.py",
                   "tiles_svc/__main__.py", "store_svc/__main__.py", "sentinelhub_emulator/__main__.py",
                   "backend_proto/v1/store_pb2_grpc.py", "backend_common/grpc_server.py"):
        assert module in names, module
    assert "compiler_svc/supported_processes.txt" in names
    assert "gateway/billing_plans.json" in names  # the gateway reads it at start
    catalogue = {Path(n).name for n in names if n.startswith("compiler_svc/collections/data/")}
    expected = {p.name for p in (ROOT / "compiler_svc/collections/data").glob("*.json")}
    assert expected and catalogue == expected
    definitions = {n for n in names if n.startswith("compiler_svc/process_definitions/")}
    vendored = {"compiler_svc/" + p.relative_to(ROOT / "compiler_svc").as_posix()
                for p in (ROOT / "compiler_svc/process_definitions").rglob("*") if p.is_file()}
    assert "compiler_svc/process_definitions/1.x/ndvi.json" in definitions
    assert definitions == vendored
    assert not any(n.startswith("tests/") for n in names)
