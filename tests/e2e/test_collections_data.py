"""Issue 17 'done when' (data side): every collection of the compiler's catalogue loads a small area
within its availability through the openeo client, with values equal to the emulator's world; an
area/time outside availability is empty or a 4xx; each load reaches the Sentinel Hub deployment that
hosts its collection (Landsat, MODIS, HLS: US-West); a BYOC collection loads for its owner only."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from openeo.rest import OpenEoApiError

from compiler_svc.collections.catalogue import catalogue
from sentinelhub_emulator import byoc, world
from tests.e2e.emulator_stats import reset_when_idle, stats
from tests.e2e.worldcheck import pixel_lonlat, read_raster

UTC = timezone.utc
# off the world's 0.01° cloud-cell grid (see test_sync_processing.BBOX)
BBOX = {"west": 11.3013, "south": 46.5017, "east": 11.3113, "north": 46.5087}
COLLECTIONS = sorted(catalogue())


def expected_deployments(sh_type: str) -> set[str]:
    """Where §1.2 of the reference says a collection type is served (emulator deployment names)."""
    if sh_type.startswith(("landsat", "modis", "hls")):
        return {"uswest2"}
    if sh_type.startswith(("sentinel-3", "sentinel-5p")):
        return {"creodias", "cdse"}
    return {"main"}


def acquisition(sh_type: str) -> datetime | None:
    """An acquisition in mid-2021 or, for ended missions, half a year before their end."""
    spec = world.collection_spec(sh_type)
    if spec.epoch is None:
        return None
    start = datetime(2021, 6, 1, tzinfo=UTC)
    if spec.end is not None and spec.end < start + timedelta(days=60):
        start = spec.end - timedelta(days=180)
    return world.acquisition_dates(sh_type, start, start + timedelta(days=60))[0]


def instant(d: datetime) -> list[str]:
    """A temporal extent holding exactly one acquisition (several passes can share a day)."""
    return [(d - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            (d + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]


def bands_of(coll) -> list[str]:
    real = [b for b in coll.band_names if b != "dataMask"][:2]
    return real + (["dataMask"] if "dataMask" in coll.band_names else [])


@pytest.mark.parametrize("collection_id", COLLECTIONS)
def test_every_collection_loads_the_world_from_its_deployment(stack, connection, tmp_path, collection_id):
    coll = catalogue()[collection_id]
    d = acquisition(coll.sh_type)
    bands = bands_of(coll)
    reset_when_idle(stack)
    cube = connection.load_collection(collection_id, spatial_extent=BBOX, bands=bands,
                                      temporal_extent=instant(d) if d is not None else None)
    out = tmp_path / "load.tif"
    cube.download(out, format="GTiff")
    data, meta = read_raster(out)
    assert data.shape[0] == len(bands)
    lon, lat = pixel_lonlat(meta)
    served = stats(stack)
    options = served["last_options"][coll.sh_type]  # whatever the plan sent (demInstance, backCoeff, ...)
    want = world.band_values(coll.sh_type, bands, d, lon, lat, options=options)
    for i, band in enumerate(bands):
        np.testing.assert_allclose(data[i], want[band].astype(np.float32), rtol=1e-6, atol=1e-6, equal_nan=True,
                                   err_msg=f"{collection_id} {band}")
    where = {name for name, types in served["collections_by_deployment"].items() if types.get(coll.sh_type)}
    assert where and where <= expected_deployments(coll.sh_type), (collection_id, served)


@pytest.mark.parametrize("collection_id", [c for c in COLLECTIONS if world.collection_spec(catalogue()[c].sh_type).epoch])
def test_outside_availability_is_empty_or_a_client_error(connection, tmp_path, collection_id):
    coll = catalogue()[collection_id]
    spec = world.collection_spec(coll.sh_type)
    before = spec.epoch - timedelta(days=400)
    cube = connection.load_collection(collection_id, spatial_extent=BBOX, bands=bands_of(coll)[:1],
                                      temporal_extent=[before.date().isoformat(),
                                                       (before + timedelta(days=30)).date().isoformat()])
    out = tmp_path / "empty.nc"
    try:
        cube.download(out, format="netCDF")
    except OpenEoApiError as err:
        assert 400 <= err.http_status_code < 500, err
        return
    import xarray as xr

    with xr.open_dataset(out) as ds:
        values = [np.asarray(ds[v]) for v in ds.data_vars if ds[v].ndim >= 2]
    assert all(v.size == 0 or not np.isfinite(v).any() or (v[np.isfinite(v)] == 0).all() for v in values)


LANDCOVER = f"byoc-{byoc.LANDCOVER_ID}"


def test_a_byoc_collection_loads_for_its_owner_and_is_404_for_another_user(stack, connection, second_connection,
                                                                           tmp_path):
    d = world.acquisition_dates(LANDCOVER, datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, tzinfo=UTC))[0]
    cube = connection.load_collection(LANDCOVER, spatial_extent=BBOX, temporal_extent=["2021-01-01", "2021-01-02"],
                                      bands=["LC", "dataMask"])
    out = tmp_path / "lc.tif"
    cube.download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    want = world.band_values(LANDCOVER, ["LC", "dataMask"], d, lon, lat)
    np.testing.assert_array_equal(data[0], want["LC"])
    np.testing.assert_array_equal(data[1], want["dataMask"])
    assert set(np.unique(data[0])) <= {10, 20, 30, 40, 50, 60, 80}
    described = connection.describe_collection(LANDCOVER)  # GET /collections/byoc-<id> as its owner
    assert described["cube:dimensions"]["bands"]["values"] == ["LC", "dataMask"]
    with pytest.raises(OpenEoApiError) as err:
        second_connection.describe_collection(LANDCOVER)
    assert err.value.http_status_code == 404
    with pytest.raises(OpenEoApiError) as err:
        second_connection.load_collection(LANDCOVER, spatial_extent=BBOX, temporal_extent=["2021-01-01", "2021-01-02"],
                                          bands=["LC"]).download(tmp_path / "nope.tif", format="GTiff")
    assert err.value.http_status_code == 404 and err.value.code == "CollectionNotFound"


def test_one_graph_fuses_collections_of_two_deployments_with_the_users_token(stack, second_connection, tmp_path):
    """Sentinel-2 (SH main) and Landsat (US-West) in one graph: one request per deployment, both with
    the basic-login user's own Sentinel Hub token."""
    s2_day = world.acquisition_dates("sentinel-2-l2a", datetime(2021, 6, 1, tzinfo=UTC), datetime(2021, 7, 1, tzinfo=UTC))[0]
    reset_when_idle(stack)
    s2 = second_connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=instant(s2_day),
                                           bands=["B04"]).reduce_dimension(dimension="t", reducer="mean")
    l8 = second_connection.load_collection("LANDSAT8-9_L2", spatial_extent=BBOX,
                                           temporal_extent=["2021-06-01", "2021-07-01"],
                                           bands=["B04"]).reduce_dimension(dimension="t", reducer="mean")
    fused = s2.merge_cubes(l8.rename_labels("bands", ["L8_B04"]).resample_cube_spatial(s2))
    out = tmp_path / "fused.tif"
    fused.download(out, format="GTiff")
    data, _ = read_raster(out)
    assert data.shape[0] == 2 and np.isfinite(data).all()
    s = stats(stack)
    assert s["collections_by_deployment"]["main"].get("sentinel-2-l2a")
    assert s["collections_by_deployment"]["uswest2"].get("landsat-ot-l2")
    assert "landsat-ot-l2" not in s["collections_by_deployment"]["main"]
    assert s["api_calls_by_client"]["demo-client-2"].get("process 200", 0) >= 2
