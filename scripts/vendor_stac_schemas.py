"""Puts the JSON Schemas of the STAC extensions our collection documents declare into
tests/stac_schemas/, so the test that validates the catalogue runs offline.

pystac bundles the STAC core schemas but no extension schemas, and no registry package ships
them as files. The pystac extension packages (`pystac-ext-<name>`) do, recorded in their source
distributions: their tests replay the schema downloads from VCR cassettes, and each cassette holds
the schema's exact body as served at its canonical URL. The sources are declared in pyproject.toml
(`[tool.openeo-backend.stac-extension-schemas]`: per source distribution its version, sha256 and
the schema ids to take); this script, run by `make setup`, downloads each pinned sdist without
dependencies, checks its hash and writes the declared schemas (matched by their `$id`) to
`tests/stac_schemas/<host>/<path>`. The folder is not committed; `SOURCE.json` in it records what
it was made from, and the script does nothing when that matches the declaration.

    python scripts/vendor_stac_schemas.py           # make it match pyproject.toml
    python scripts/vendor_stac_schemas.py --check   # exit 1 when it does not
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "stac_schemas"
STAMP = "SOURCE.json"


def declared_sources(pyproject: Path = ROOT / "pyproject.toml") -> list[dict]:
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["openeo-backend"]["stac-extension-schemas"]["source"]


def recorded_sources(target: Path = TARGET) -> list[dict] | None:
    try:
        return json.loads((target / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def schema_path(schema_id: str) -> Path:
    """Where a schema with this id is stored below the target: `<host>/<path>`."""
    return Path(schema_id.split("://", 1)[1].rstrip("#"))


def download_sdist(source: dict, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary=:all:",
         "--dest", str(into), f"{source['distribution']}=={source['version']}"],
        check=True,
    )
    found = sorted(into.glob("*.tar.gz"))
    if len(found) != 1:
        raise SystemExit(f"expected one sdist of {source['distribution']}, got {[f.name for f in found]}")
    digest = hashlib.sha256(found[0].read_bytes()).hexdigest()
    if digest != source["sha256"]:  # the pin: a re-published or tampered file stops the build
        raise SystemExit(f"{found[0].name}: sha256 {digest} is not the declared {source['sha256']}")
    return found[0]


def recorded_schemas(sdist: Path) -> dict[str, dict]:
    """Every JSON document a cassette of the sdist recorded with status 200, by its `$id`."""
    schemas: dict[str, dict] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if "/cassettes/" not in member.name or not member.name.endswith(".yaml"):
                continue
            cassette = yaml.safe_load(tar.extractfile(member).read())
            for interaction in (cassette or {}).get("interactions") or []:
                response = interaction.get("response") or {}
                body = (response.get("body") or {}).get("string")
                if (response.get("status") or {}).get("code") != 200 or not isinstance(body, str):
                    continue
                try:
                    doc = json.loads(body)
                except ValueError:
                    continue
                if isinstance(doc, dict) and isinstance(doc.get("$id"), str):
                    schemas.setdefault(doc["$id"].rstrip("#"), doc)
    return schemas


def vendor(sources: list[dict], target: Path = TARGET) -> None:
    with tempfile.TemporaryDirectory(prefix="stac-schemas-") as tmp:
        staging = Path(tmp) / "staging"
        count = 0
        for i, source in enumerate(sources):
            sdist = download_sdist(source, Path(tmp) / str(i))
            found = recorded_schemas(sdist)
            for schema_id in source["schemas"]:
                if schema_id not in found:
                    raise SystemExit(f"{sdist.name} records no schema with $id {schema_id}")
                dest = staging / schema_path(schema_id)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(json.dumps(found[schema_id], indent=1) + "\n", encoding="utf-8")
                count += 1
        (staging / STAMP).write_text(json.dumps(sources, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staging, target)
    print(f"{target.relative_to(ROOT)}: {count} STAC extension schemas from {len(sources)} source distributions")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the folder matches pyproject.toml")
    args = ap.parse_args()
    sources = declared_sources()
    if recorded_sources() == sources:
        return 0
    if args.check:
        print(f"{TARGET.relative_to(ROOT)} does not match pyproject.toml: run python scripts/vendor_stac_schemas.py",
              file=sys.stderr)
        return 1
    vendor(sources)
    return 0


if __name__ == "__main__":
    sys.exit(main())
