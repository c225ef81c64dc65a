"""Issue 17, catalogue side, through the whole stack with the openeo client: every collection is
listed once, the old backend's ids load as their collection (values equal the emulator's world,
`dataMask` included), and bad load options are 400s."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import requests
from openeo.rest import OpenEoApiError

from tests.e2e.worldcheck import bands_at, day_interval, first_acquisition, pixel_lonlat, read_raster

BBOX = {"west": 14.0013, "south": 46.0017, "east": 14.0113, "north": 46.0117}


def test_collections_are_listed_once_and_aliases_are_served(stack, connection):
    ids = connection.list_collection_ids()
    assert len(ids) == len(set(ids)) == 19 and "S2L1C" not in ids and "SENTINEL_5P_L2" in ids
    alias = connection.describe_collection("SENTINEL2_L2A_SENTINELHUB")
    assert alias["id"] == "SENTINEL2_L2A" and alias["cube:dimensions"]["bands"]["values"][-1] == "dataMask"
    links = {link["rel"]: link["href"] for link in alias["links"]}
    assert links["alternate"] == f"{stack.gateway_url}/collections/SENTINEL2_L2A_SENTINELHUB"
    queryables = requests.get(f"{stack.gateway_url}/collections/S2L1C/queryables", timeout=30)
    assert queryables.status_code == 200 and list(queryables.json()["properties"]) == ["eo:cloud_cover"]
    s1 = requests.get(f"{stack.gateway_url}/collections/SENTINEL1_GRD/queryables", timeout=30).json()
    assert {"sar:instrument_mode", "s1:polarization", "sat:orbit_state"} <= set(s1["properties"])


def test_an_alias_loads_its_collection_with_data_mask(connection, tmp_path):
    acq = first_acquisition(date(2024, 6, 1), "sentinel-2-l1c")
    cube = connection.load_collection("S2L1C", spatial_extent=BBOX, temporal_extent=day_interval(acq),
                                      bands=["B04", "dataMask"])
    out = tmp_path / "alias.tif"
    cube.download(out, format="GTiff")
    data, meta = read_raster(out)
    assert list(meta["descriptions"]) == ["B04", "dataMask"]
    lon, lat = pixel_lonlat(meta)
    expected = bands_at(acq, lon, lat, "B04", collection="sentinel-2-l1c")["B04"]
    np.testing.assert_allclose(data[0], expected, atol=1e-4)
    assert np.all(data[1] == 1)


@pytest.mark.parametrize("cid, prop, value, needle", [
    ("SENTINEL1_GRD", "sar:instrument_mode", "XX", "SM, IW, EW, WV"),
    ("SENTINEL2_L2A", "s1:polarization", "DV", "not supported"),
])
def test_bad_load_options_are_400(connection, cid, prop, value, needle):
    cube = connection.load_collection(cid, spatial_extent=BBOX, temporal_extent=["2024-06-01", "2024-06-05"],
                                      properties={prop: lambda v: v == value})
    with pytest.raises(OpenEoApiError) as info:
        cube.download(format="GTiff")
    assert info.value.http_status_code == 400 and info.value.code == "ProcessParameterInvalid"
    assert needle in info.value.message


def test_card4l_equals_grd_with_terrain_corrected_backscatter(connection, tmp_path):
    """SENTINEL1_CARD4L is the GRD collection with Sentinel Hub's CARD4L options: the same pixels as
    sar_backscatter(gamma0-terrain on the Copernicus DEM) of IW scenes, with the S1 filters applied."""
    when = ["2024-06-01", "2024-06-13"]
    iw = {"sar:instrument_mode": lambda v: v == "IW", "sat:orbit_state": lambda v: v == "ascending"}
    card4l = connection.load_collection("SENTINEL1_CARD4L", spatial_extent=BBOX, temporal_extent=when,
                                        bands=["VV", "VH"], properties=iw)
    grd = connection.load_collection("SENTINEL1_GRD", spatial_extent=BBOX, temporal_extent=when, bands=["VV", "VH"],
                                     properties=iw).sar_backscatter(coefficient="gamma0-terrain", elevation_model="COPERNICUS")
    a, b = tmp_path / "card4l.nc", tmp_path / "grd.nc"
    card4l.download(a, format="netCDF")
    grd.download(b, format="netCDF")
    import xarray as xr

    with xr.open_dataset(a) as x, xr.open_dataset(b) as y:
        assert x.sizes["t"] >= 1 and np.isfinite(x["VV"].values).any()
        np.testing.assert_allclose(x["VV"].values, y["VV"].values, equal_nan=True)
        np.testing.assert_allclose(x["VH"].values, y["VH"].values, equal_nan=True)
