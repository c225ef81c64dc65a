"""Generate the Python gRPC stubs in backend_proto/ from the .proto files in proto/.

Usage: python scripts/gen_protos.py [--check]
With --check, the stubs are generated into a temporary folder and compared with the committed
ones; the exit status is 1 when they differ (CI uses this to catch drift).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc
import grpc_tools

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE = "backend_proto"


def generate(out_dir: Path) -> list[Path]:
    protos = sorted((PROTO_ROOT / PACKAGE).rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = sorted(p for p in (out_dir / PACKAGE).rglob("*") if p.suffix in (".py", ".pyi"))
    for folder in {p.parent for p in generated} | {out_dir / PACKAGE}:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")
    return generated


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    opts = parser.parse_args()
    if not opts.check:
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        generate(tmp_path)
        fresh = {p.relative_to(tmp_path) for p in (tmp_path / PACKAGE).rglob("*.py*")}
        committed = {p.relative_to(ROOT) for p in (ROOT / PACKAGE).rglob("*.py*")}
        drift = sorted(str(p) for p in fresh ^ committed)
        drift += sorted(
            str(p) for p in fresh & committed if not filecmp.cmp(tmp_path / p, ROOT / p, shallow=False)
        )
        if drift:
            print("gRPC stubs drift from proto/:", *drift, sep="\n  ")
            return 1
        print(f"gRPC stubs match proto/ ({len(fresh)} files)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
