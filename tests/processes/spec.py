"""Locate and load the official openeo-processes 1.x JSON definitions without importing openeo_driver."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def spec_dir() -> Path | None:
    spec = importlib.util.find_spec("openeo_driver")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "specs" / "openeo-processes" / "1.x"
        if d.is_dir():
            return d
    return None


def load_specs(include_proposals: bool = True) -> dict[str, dict]:
    d = spec_dir()
    if d is None:
        return {}
    files = sorted(d.glob("*.json"))
    if include_proposals:
        files += sorted((d / "proposals").glob("*.json"))
    out = {}
    for f in files:
        p = json.loads(f.read_text(encoding="utf-8"))
        p["_proposal"] = f.parent.name == "proposals"
        out[p["id"]] = p
    return out
