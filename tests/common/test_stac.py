"""backend_common.stac: STAC Items of job results and collection documents, built with pystac."""

from __future__ import annotations

import json

import pystac
from pystac.extensions.eo import EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension

from backend_common import stac
from backend_proto.v1 import store_pb2

TIF = store_pb2.ResultAsset(
    name="openEO_2024-05-03.tif", key="jobs/j-1/openEO_2024-05-03.tif", media_type="image/tiff; application=geotiff",
    roles=["data"], title="NDVI", size=3000, datetime="2024-05-03T10:00:00Z",
    projection=store_pb2.Projection(epsg=32633, shape=[48, 64], bbox=[500000, 5199520, 500640, 5200000],
                                    transform=[10, 0, 500000, 0, -10, 5200000]),
    bands=[
        store_pb2.Band(name="B04", common_name="red", center_wavelength=0.665, data_type="float32",
                       nodata=float("nan"), statistics=store_pb2.BandStatistics(minimum=0.1, maximum=0.9, valid_percent=99.5)),
        store_pb2.Band(name="B08", data_type="float32", nodata=float("-inf")),
    ],
)
RESULTS = store_pb2.JobResults(assets=[TIF, store_pb2.ResultAsset(name="b.json", key="jobs/j-1/b.json")],
                               bbox=[14.9, 46.9, 15.1, 47.0],
                               start_datetime="2024-05-03T10:00:00Z", end_datetime="2024-05-13T10:00:00Z")


def item_of(results=RESULTS, assets=None, **kwargs) -> dict:
    kwargs.setdefault("production_time", "2024-06-01T00:00:00Z")
    return stac.results_item("j-1", results, assets=results.assets if assets is None else assets,
                             asset_href=lambda asset: f"https://example.test/{asset.name}", **kwargs)


def test_results_item_with_raster_metadata():
    item = item_of(properties={"expires": "2024-07-01T00:00:00Z", "openeo:status": "running"},
                   links=[{"rel": "canonical", "href": "https://example.test/item.json", "type": "application/geo+json"}])
    assert item["type"] == "Feature" and item["id"] == "j-1" and item["stac_version"] == pystac.get_stac_version()
    assert item["bbox"] == [14.9, 46.9, 15.1, 47.0]
    assert item["geometry"] == {"type": "Polygon", "coordinates": [[[14.9, 46.9], [15.1, 46.9], [15.1, 47.0],
                                                                   [14.9, 47.0], [14.9, 46.9]]]}
    props = item["properties"]
    assert props["datetime"] is None
    assert (props["start_datetime"], props["end_datetime"]) == ("2024-05-03T10:00:00Z", "2024-05-13T10:00:00Z")
    assert props["expires"] == "2024-07-01T00:00:00Z" and props["openeo:status"] == "running"
    assert item["links"] == [{"rel": "canonical", "href": "https://example.test/item.json", "type": "application/geo+json"}]
    assert list(item["assets"]) == ["openEO_2024-05-03.tif", "b.json"]
    tif = item["assets"]["openEO_2024-05-03.tif"]
    assert tif["href"] == "https://example.test/openEO_2024-05-03.tif" and "key" not in tif
    assert (tif["type"], tif["roles"], tif["title"], tif["file:size"]) == ("image/tiff; application=geotiff", ["data"], "NDVI", 3000)
    assert tif["datetime"] == "2024-05-03T10:00:00Z"
    assert tif["proj:code"] == "EPSG:32633" and tif["proj:shape"] == [48, 64]
    assert tif["proj:bbox"] == [500000, 5199520, 500640, 5200000] and tif["proj:transform"] == [10, 0, 500000, 0, -10, 5200000]
    assert tif["eo:bands"] == [{"name": "B04", "common_name": "red", "center_wavelength": 0.665}, {"name": "B08"}]
    assert tif["raster:bands"] == [
        {"name": "B04", "data_type": "float32", "nodata": "nan",
         "statistics": {"minimum": 0.1, "maximum": 0.9, "valid_percent": 99.5}},
        {"name": "B08", "data_type": "float32", "nodata": "-inf"},
    ]
    # a file without metadata: name as title, data role, no extension fields
    assert item["assets"]["b.json"] == {"href": "https://example.test/b.json", "title": "b.json", "roles": ["data"]}
    assert sorted(url.split("/")[3] for url in item["stac_extensions"]) == ["eo", "file", "projection", "raster"]
    json.dumps(item, allow_nan=False)  # plain JSON: no NaN/Infinity literals


def test_results_item_reads_back_with_pystac():
    item = pystac.Item.from_dict(item_of())
    asset = item.assets["openEO_2024-05-03.tif"]
    assert ProjectionExtension.ext(asset).epsg == 32633
    assert [b.common_name for b in EOExtension.ext(asset).bands] == ["red", None]
    assert RasterExtension.ext(asset).bands[0].statistics.maximum == 0.9
    assert item.common_metadata.start_datetime.isoformat() == "2024-05-03T10:00:00+00:00"


def test_results_item_without_extent_or_metadata():
    results = store_pb2.JobResults(assets=[store_pb2.ResultAsset(name="out.json", media_type="application/json")])
    item = item_of(results)
    assert item["geometry"] is None and "bbox" not in item  # pystac's empty bbox is no valid STAC
    assert item["properties"] == {"datetime": "2024-06-01T00:00:00Z"}  # the production time
    assert item["stac_extensions"] == []
    assert item_of(results, assets=[])["assets"] == {}


def test_results_item_dates_and_geometry_from_the_results():
    geometry = {"type": "Point", "coordinates": [15.0, 47.0]}
    results = store_pb2.JobResults(bbox=[15, 47, 15, 47], geometry_json=json.dumps(geometry),
                                   datetime="2024-05-03T10:00:00Z")
    item = item_of(results)
    assert item["geometry"] == geometry and item["properties"]["datetime"] == "2024-05-03T10:00:00Z"
    # a start without an end is no range: the production time stands in
    assert item_of(store_pb2.JobResults(start_datetime="2024-05-03T10:00:00Z"))["properties"] == {
        "datetime": "2024-06-01T00:00:00Z"}
    # a value that is no time (an odd old document) is left out instead of failing the document
    odd = store_pb2.JobResults(datetime="soon", assets=[store_pb2.ResultAsset(name="a.tif", datetime="later")])
    item = item_of(odd)
    assert item["properties"]["datetime"] == "2024-06-01T00:00:00Z" and "datetime" not in item["assets"]["a.tif"]


def test_bands_without_raster_fields_have_no_raster_extension():
    asset = store_pb2.ResultAsset(name="a.tif", bands=[store_pb2.Band(name="B04", common_name="red")])
    item = item_of(store_pb2.JobResults(assets=[asset]))
    assert "raster:bands" not in item["assets"]["a.tif"] and item["assets"]["a.tif"]["eo:bands"] == [
        {"name": "B04", "common_name": "red"}]
    assert [url.split("/")[3] for url in item["stac_extensions"]] == ["eo"]


def collection(**overrides) -> dict:
    fields = dict(
        title="Test", description="A test collection", keywords=["test"], license="CC0-1.0",
        providers=[{"name": "ESA", "roles": ["producer"]}], bbox=[-180, -90, 180, 90],
        interval=["2015-06-27T00:00:00Z", None],
        cube_dimensions={"x": {"type": "spatial", "axis": "x", "extent": [-180, 180], "reference_system": 4326},
                         "bands": {"type": "bands", "values": ["B04"]}},
        bands=[{"name": "B04", "common_name": "red", "gsd": 10}],
        summaries={"gsd": [10], "instruments": [], "platform": ["sentinel-2a"]},
        links=[{"rel": "license", "href": "https://example.test/license"}],
        extra_fields={"sh_type": "sentinel-2-l2a"},
    )
    return stac.collection("TEST", **(fields | overrides))


def test_collection_document():
    doc = collection(version="2")
    assert doc["type"] == "Collection" and doc["id"] == "TEST" and doc["stac_version"] == pystac.get_stac_version()
    assert doc["extent"] == {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                             "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]}}
    assert doc["cube:dimensions"]["bands"] == {"type": "bands", "values": ["B04"]}
    assert doc["summaries"] == {"gsd": [10], "platform": ["sentinel-2a"],
                                "eo:bands": [{"name": "B04", "common_name": "red", "gsd": 10}]}
    assert doc["providers"] == [{"name": "ESA", "roles": ["producer"]}] and doc["version"] == "2"
    assert doc["links"] == [{"rel": "license", "href": "https://example.test/license"}]
    assert doc["sh_type"] == "sentinel-2-l2a"
    assert sorted(url.split("/")[3] for url in doc["stac_extensions"]) == ["datacube", "eo", "version"]


def test_collection_declares_what_it_uses():
    plain = collection(bands=[])
    assert "version" not in plain and "eo:bands" not in plain["summaries"]
    assert [url.split("/")[3] for url in plain["stac_extensions"]] == ["datacube"]
    sar = collection(bands=[], summaries={"sar:polarizations": ["VV", "VH"]})
    assert sorted(url.split("/")[3] for url in sar["stac_extensions"]) == ["datacube", "sar"]
