"""Puts the official openEO process definitions into compiler_svc/process_definitions/.

The definitions (openeo-processes 1.2.0 JSON) are data the compiler reads at run time. No PyPI
package ships just them; the openeo-driver wheel carries them as data files, next to a Flask
application whose dependencies we do not want. So the source is declared in pyproject.toml
(`[tool.openeo-backend.process-definitions]`: distribution, version, the wheel's sha256 and the
folders to take) and this script, run by `make setup` and by the image build before the project
is installed, downloads that one wheel (no dependencies), checks its hash and copies the JSON
files. The folder is not committed; `SOURCE.json` in it records what it was made from, and the
script does nothing when that matches the declaration (download, check and replace: vendoring.py).

    python scripts/vendor_process_definitions.py           # make it match pyproject.toml
    python scripts/vendor_process_definitions.py --check   # exit 1 when it does not
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import vendoring
from vendoring import ROOT

TARGET = ROOT / "compiler_svc" / "process_definitions"
TABLE = "process-definitions"


def declared_source(pyproject: Path = ROOT / "pyproject.toml") -> dict:
    """The [tool.openeo-backend.process-definitions] table."""
    return vendoring.declared(TABLE, pyproject)


def recorded_source(target: Path = TARGET) -> dict | None:
    return vendoring.recorded(target)


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
    with vendoring.replacing(target, source, prefix="process-definitions-") as (scratch, staging):
        wheel = vendoring.download(source, scratch, "wheel")
        count = extract(wheel, source, staging)
        if not count:
            raise SystemExit(f"{wheel.name} has no JSON files under {source['path']}/{source['folders']}")
    print(f"{vendoring.shown(target)}: {count} definitions from {source['distribution']} {source['version']}")


if __name__ == "__main__":
    sys.exit(vendoring.main(Path(__file__).name, __doc__, TARGET, declared_source, vendor))
