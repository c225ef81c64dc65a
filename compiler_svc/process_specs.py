"""The official openEO process definitions (openeo-processes 1.2.0) and the supported subset.

The JSON files are in `process_definitions/`, written from the source that pyproject.toml
declares by `scripts/vendor_process_definitions.py` (`make setup` and the image build run it).
Stable definitions come from `1.x/`, the proposals we implement (sar_backscatter, ...) from
`1.x/proposals/`, `load_stac` from `experimental/`. Which ids the backend implements is data:
`supported_processes.txt`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

SUPPORTED_FILE = Path(__file__).with_name("supported_processes.txt")
DEFINITIONS = Path(__file__).with_name("process_definitions")


def specs_folder() -> Path:
    """The folder of the stable 1.x definitions (proposals in its `proposals/`)."""
    folder = DEFINITIONS / "1.x"
    if not folder.is_dir():
        raise RuntimeError(f"{folder} is missing: run python scripts/vendor_process_definitions.py")
    return folder


@functools.lru_cache(maxsize=1)
def all_definitions() -> dict[str, dict]:
    """Every official definition (stable and proposals), by process id."""
    folder = specs_folder()
    result: dict[str, dict] = {}
    # stable definitions win over proposals, proposals over the experimental ones (load_stac)
    for sub in (folder.parent / "experimental", folder / "proposals", folder):
        for path in sorted(sub.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and "id" in doc:
                result[doc["id"]] = doc
    return result


@functools.lru_cache(maxsize=1)
def supported_ids() -> tuple[str, ...]:
    ids = []
    for line in SUPPORTED_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.append(line)
    return tuple(sorted(set(ids)))


@functools.lru_cache(maxsize=1)
def supported_definitions() -> dict[str, dict]:
    defs = all_definitions()
    missing = [pid for pid in supported_ids() if pid not in defs]
    if missing:
        raise RuntimeError(f"supported_processes.txt lists processes without definition: {missing}")
    return {pid: defs[pid] for pid in supported_ids()}


def get_definition(process_id: str) -> dict | None:
    return supported_definitions().get(process_id)


def is_predefined(process_id: str) -> bool:
    """True for any official process id (implemented or not): user processes may not reuse it."""
    return process_id in all_definitions()


@functools.lru_cache(maxsize=1)
def processes_document_json() -> str:
    """Body of GET /processes."""
    return json.dumps({"processes": list(supported_definitions().values()), "links": []})
