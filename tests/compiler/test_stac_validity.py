"""Every collection document validates against the STAC core schema (pystac's bundled copy) and the
schema of each extension it declares (tests/stac_schemas/, written by scripts/vendor_stac_schemas.py
from pinned registry packages), offline: a schema that is not local fails the test instead of
being downloaded."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from pystac.validation.local_validator import get_local_schema_cache
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from compiler_svc.collections.catalogue import catalogue, collection_document, collections_document
from tests.availability import unavailable

SCHEMAS = Path(__file__).resolve().parents[1] / "stac_schemas"
COLLECTION_SCHEMA = "https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json"

#: field prefix -> the extension (its schema URL's first path segment) that defines it
PREFIXES = {"cube:": "datacube", "eo:": "eo", "sar:": "sar", "raster:": "raster"}


def _offline(uri: str):
    raise NoSuchResource(ref=uri)  # never fetched: every schema must be local


@pytest.fixture(scope="module")
def registry() -> Registry:
    if not (SCHEMAS / "SOURCE.json").is_file():
        unavailable("tests/stac_schemas/ missing: run python scripts/vendor_stac_schemas.py (make setup does)")
    local = dict(get_local_schema_cache())
    for path in SCHEMAS.rglob("*.json"):
        if path.name != "SOURCE.json":
            local["https://" + path.relative_to(SCHEMAS).as_posix()] = json.loads(path.read_text(encoding="utf-8"))
    return Registry(retrieve=_offline).with_resources(
        (uri, Resource.from_contents(doc)) for uri, doc in local.items())


def stac_errors(doc: dict, registry: Registry) -> list[str]:
    """Messages of every schema violation: the core collection schema, then each declared extension."""
    errors = []
    for uri in [COLLECTION_SCHEMA] + list(doc.get("stac_extensions") or []):
        schema = registry.contents(uri)
        validator = Draft7Validator(schema, registry=registry)
        errors += [f"{uri}: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(doc)]
    return errors


def undeclared_extensions(doc: dict) -> set[str]:
    """Extensions whose fields the document uses without declaring them."""
    declared = {url.split("/")[3] for url in doc.get("stac_extensions") or []}
    used = {ext for key in list(doc) + list(doc.get("summaries") or {}) for prefix, ext in PREFIXES.items()
            if key.startswith(prefix)}
    if "version" in doc:
        used.add("version")
    return used - declared


def test_every_collection_document_validates_offline(registry):
    assert len(catalogue()) == 19
    for cid in catalogue():
        doc = collection_document(cid)
        assert stac_errors(doc, registry) == [], cid
        assert undeclared_extensions(doc) == set(), cid
        assert all(value not in ([], {}, None) for value in doc["summaries"].values()), cid
    for item in collections_document()["collections"]:
        assert stac_errors(item, registry) == [], item["id"]


def test_the_schemas_catch_what_they_should(registry):
    """The validation is not vacuous: each schema the catalogue relies on rejects a broken copy."""
    good = collection_document("SENTINEL1_GRD")
    broken = copy.deepcopy(good)
    broken["summaries"]["instruments"] = []  # core: a summary lists at least one value
    assert any("collection.json" in e for e in stac_errors(broken, registry))
    broken = copy.deepcopy(good)
    broken["cube:dimensions"]["x"]["extent"] = "everywhere"  # datacube
    assert any("datacube" in e for e in stac_errors(broken, registry))
    # the extension schemas check a collection's own fields and its assets' (not the summaries)
    broken = copy.deepcopy(good)
    broken["version"] = 1  # version: a string
    assert any("version" in e for e in stac_errors(broken, registry))
    for ext, field in (("sar", {"sar:frequency_band": "Z"}), ("raster", {"raster:bands": [{"data_type": "uint17"}]}),
                       ("eo", {"eo:cloud_cover": 120})):
        broken = copy.deepcopy(good)
        broken["stac_extensions"] = sorted(set(good["stac_extensions"]) | {
            f"https://stac-extensions.github.io/{ext}/" + next((SCHEMAS / "stac-extensions.github.io" / ext).iterdir()).name
            + "/schema.json"})
        broken["assets"] = {"a": {"href": "https://example.com/a.tif", **field}}
        assert any(f"/{ext}/" in e for e in stac_errors(broken, registry)), ext
    undeclared = copy.deepcopy(good)
    undeclared["stac_extensions"] = [u for u in good["stac_extensions"] if "/version/" not in u]
    assert undeclared_extensions(undeclared) == {"version"}


def test_schemas_are_never_fetched(registry):
    doc = collection_document("SENTINEL2_L2A")
    doc["stac_extensions"] = doc["stac_extensions"] + ["https://stac-extensions.github.io/view/v1.0.0/schema.json"]
    with pytest.raises(Exception):
        stac_errors(doc, registry)
