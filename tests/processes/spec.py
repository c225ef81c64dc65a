"""The official openeo-processes 1.x JSON definitions, read from the compiler's copy (so a missing
copy fails the tests that use it instead of leaving them with nothing to check)."""

from __future__ import annotations

import json

from compiler_svc.process_specs import specs_folder


def load_specs(include_proposals: bool = True) -> dict[str, dict]:
    d = specs_folder()
    files = sorted(d.glob("*.json"))
    if include_proposals:
        files += sorted((d / "proposals").glob("*.json"))
    out = {}
    for f in files:
        p = json.loads(f.read_text(encoding="utf-8"))
        p["_proposal"] = f.parent.name == "proposals"
        out[p["id"]] = p
    assert out, f"no process definitions in {d}"
    return out
