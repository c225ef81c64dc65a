"""Puts the official openEO process definitions into compiler_svc/process_definitions/.

The definitions (openeo-processes 1.2.0 JSON) are data the compiler reads at run time. No PyPI
package ships just them; the openeo-driver wheel carries them as data files, next to a Flask
application whose dependencies we do not want. So the source is declared in pyproject.toml
(`[tool.openeo-backend.process-definitions]`: distribution, version, the wheel's sha256 and the
folders to take) and this script, run by `make setup` and by the image build before the project
is installed, downloads that one wheel (no dependencies), checks its hash and copies the JSON
files. The folder is not committed; `SOURCE.json` in it records what it was made from, and the
script does nothing when that matches the declaration.

    python scripts/vendor_process_definitions.py           # make it match pyproject.toml
    python scripts/vendor_process_definitions.py --check   # exit 1 when it does not
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "compiler_svc" / "process_definitions"
STAMP = "SOURCE.json"


def declared_source(pyproject: Path = ROOT / "pyproject.toml") -> dict:
    """The [tool.openeo-backend.process-definitions] table."""
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["openeo-backend"]["process-definitions"]


def recorded_source(target: Path = TARGET) -> dict | None:
    try:
        return json.loads((target / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def download_wheel(source: dict, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--dest", str(into), f"{source['distribution']}=={source['version']}"],
        check=True,
    )
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel of {source['distribution']}, got {[w.name for w in wheels]}")
    check_hash(wheels[0], source["sha256"])
    return wheels[0]


def check_hash(wheel: Path, sha256: str) -> None:
    """The declared hash pins the exact file: a re-published or tampered wheel stops the build."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{wheel.name}: sha256 {digest} is not the declared {sha256}")


def extract(wheel: Path, source: dict, target: Path) -> int:
    """Copies the declared folders' JSON files (and the licence) into `target`; returns the count."""
    prefix = source["path"].rstrip("/") + "/"
    wanted = tuple(prefix + folder.strip("/") + "/" for folder in source["folders"])
    count = 0
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if not name.startswith(wanted) or not (name.endswith(".json") or name.endswith("/LICENSE")):
                continue
            dest = target / name[len(prefix):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(name))
            count += name.endswith(".json")
    return count


def vendor(source: dict, target: Path = TARGET) -> None:
    with tempfile.TemporaryDirectory(prefix="process-definitions-") as tmp:
        wheel = download_wheel(source, Path(tmp))
        staging = Path(tmp) / "staging"
        count = extract(wheel, source, staging)
        if not count:
            raise SystemExit(f"{wheel.name} has no JSON files under {source['path']}/{source['folders']}")
        (staging / STAMP).write_text(json.dumps(source, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        # replace the folder whole, so files dropped by a new version do not linger
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)
    print(f"{target.relative_to(ROOT)}: {count} definitions from {source['distribution']} {source['version']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the folder matches pyproject.toml")
    args = ap.parse_args()
    source = declared_source()
    if recorded_source() == source:
        return 0
    if args.check:
        print(f"{TARGET.relative_to(ROOT)} does not match pyproject.toml: run python scripts/vendor_process_definitions.py",
              file=sys.stderr)
        return 1
    vendor(source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
