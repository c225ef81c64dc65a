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
it was made from, and the script does nothing when that matches the declaration (download, check
and replace: vendoring.py).

    python scripts/vendor_stac_schemas.py           # make it match pyproject.toml
    python scripts/vendor_stac_schemas.py --check   # exit 1 when it does not
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import yaml

import vendoring
from vendoring import ROOT

TARGET = ROOT / "tests" / "stac_schemas"
TABLE = "stac-extension-schemas"


def declared_sources(pyproject: Path = ROOT / "pyproject.toml") -> list[dict]:
    return vendoring.declared(TABLE, pyproject)["source"]


def recorded_sources(target: Path = TARGET) -> list[dict] | None:
    return vendoring.recorded(target)


def schema_path(schema_id: str) -> Path:
    """Where a schema with this id is stored below the target: `<host>/<path>`."""
    return Path(schema_id.split("://", 1)[1].rstrip("#"))


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
    with vendoring.replacing(target, sources, prefix="stac-schemas-") as (scratch, staging):
        count = 0
        for i, source in enumerate(sources):
            sdist = vendoring.download(source, scratch / str(i), "sdist")
            found = recorded_schemas(sdist)
            for schema_id in source["schemas"]:
                if schema_id not in found:
                    raise SystemExit(f"{sdist.name} records no schema with $id {schema_id}")
                dest = staging / schema_path(schema_id)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(json.dumps(found[schema_id], indent=1) + "\n", encoding="utf-8")
                count += 1
    print(f"{vendoring.shown(target)}: {count} STAC extension schemas from {len(sources)} source distributions")


if __name__ == "__main__":
    sys.exit(vendoring.main(Path(__file__).name, __doc__, TARGET, declared_sources, vendor))
