"""Every collection type of the emulator: bands as sentinelhub-py defines them, plausible values,
availability periods, acquisition patterns, data filters that select scenes or change values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from sentinelhub_emulator import filters, world

from .conftest import process_body, read_raster, sh_error

UTC = timezone.utc
LON, LAT = np.meshgrid(np.linspace(11.0, 11.2, 9), np.linspace(46.0, 46.1, 5))


def _sentinelhub_bands():
    import sentinelhub  # a dev dependency (pyproject [dev])

    d = sentinelhub.DataCollection
    return {c.api_id: c for c in (d.SENTINEL2_L1C, d.SENTINEL2_L2A, d.SENTINEL1_IW, d.SENTINEL3_OLCI,
                                  d.SENTINEL3_SLSTR, d.SENTINEL5P, d.LANDSAT_MSS_L1, d.LANDSAT_TM_L1,
                                  d.LANDSAT_TM_L2, d.LANDSAT_ETM_L1, d.LANDSAT_ETM_L2, d.LANDSAT_OT_L1,
                                  d.LANDSAT_OT_L2, d.MODIS, d.HARMONIZED_LANDSAT_SENTINEL, d.DEM)}


def test_bands_are_sentinelhub_pys():
    for api_id, coll in _sentinelhub_bands().items():
        spec = world.collection_spec(api_id)
        theirs = {b.name for b in coll.bands} | {b.name for b in coll.metabands}
        assert theirs <= set(spec.band_names), (api_id, theirs - set(spec.band_names))
        for b in (*coll.bands, *coll.metabands):
            if b.units:
                assert b.units[0].value in spec.band(b.name).units or spec.band(b.name).default_unit == "KELVIN", \
                    (api_id, b.name)


@pytest.mark.parametrize("cid,start,end,step", [
    ("sentinel-3-olci", "2016-04-25", None, 1), ("sentinel-3-slstr", "2016-04-19", None, 1),
    ("sentinel-5p-l2", "2018-04-30", None, 1), ("modis", "2000-02-24", "2023-02-10", 1),
    ("landsat-tm-l2", "1982-08-22", "2012-05-05", 16), ("landsat-etm-l1", "1999-05-28", "2024-01-19", 16),
    ("landsat-mss-l1", "1972-07-25", "2013-01-07", 16), ("hls", "2013-04-11", None, 2),
])
def test_availability_and_revisit(cid, start, end, step):
    first = datetime.fromisoformat(start).replace(tzinfo=UTC)
    dates = world.acquisition_dates(cid, datetime(1970, 1, 1, tzinfo=UTC), first.replace(year=first.year + 1))
    assert dates[0].date() == first.date()
    assert all((b - a).days == step or (b - a).days == 0 for a, b in zip(dates, dates[1:]))
    if end is not None:
        last = datetime.fromisoformat(end).replace(tzinfo=UTC)
        after = world.acquisition_dates(cid, last.replace(hour=23), datetime(2030, 1, 1, tzinfo=UTC))
        assert after == []
        assert world.acquisition_dates(cid, last - timedelta(days=40), last.replace(hour=23))


@pytest.mark.parametrize("cid,band,lo,hi", [
    ("sentinel-3-olci", "B17", 0.0, 1.0), ("sentinel-3-olci", "SEA_LEVEL_PRESSURE", 950, 1050),
    ("sentinel-3-slstr", "S8", 200, 330), ("sentinel-5p-l2", "NO2", 0, 3e-4), ("sentinel-5p-l2", "CH4", 1600, 2000),
    ("sentinel-5p-l2", "CO", 0, 0.1), ("modis", "B02", 0, 1), ("hls", "ThermalInfrared1", 200, 330),
    ("landsat-tm-l2", "B06", 200, 330), ("landsat-mss-l1", "B04", 0, 1), ("sentinel-1-grd", "HH", 0, 1),
])
def test_values_are_plausible(cid, band, lo, hi):
    spec = world.collection_spec(cid)
    d = world.acquisition_dates(cid, datetime(2010, 6, 1, tzinfo=UTC) if spec.end and spec.end.year < 2020
                                else datetime(2020, 6, 1, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC))[0]
    v = world.band_value(cid, band, d, LON, LAT)
    ok = world.band_value(cid, "dataMask", d, LON, LAT) == 1
    assert np.isfinite(v[ok]).all() and lo <= v[ok].min() and v[ok].max() <= hi, (v.min(), v.max())


def test_coarse_products_are_constant_over_their_native_pixel():
    d = world.acquisition_dates("sentinel-5p-l2", datetime(2020, 6, 1, tzinfo=UTC), datetime(2020, 6, 2, tzinfo=UTC))[0]
    lon = np.array([11.001, 11.049, 11.051])
    v = world.band_value("sentinel-5p-l2", "O3", d, lon, np.full(3, 46.01))
    assert v[0] == v[1] != v[2]


def test_s5p_min_qa_masks_pixels_and_no2_defaults_stricter():
    d = world.acquisition_dates("sentinel-5p-l2", datetime(2020, 6, 1, tzinfo=UTC), datetime(2020, 6, 2, tzinfo=UTC))[0]
    lon, lat = np.meshgrid(np.linspace(0, 5, 60), np.linspace(40, 45, 60))
    co = world.band_values("sentinel-5p-l2", ["CO", "NO2"], d, lon, lat)
    assert 0.1 < (co["CO"] == 0).mean() < 0.4 and (co["NO2"] == 0).mean() > (co["CO"] == 0).mean()
    none = world.band_values("sentinel-5p-l2", ["CO", "dataMask"], d, lon, lat, options={"minQa": 0})
    assert (none["dataMask"] == 1).all() and (none["CO"] > 0).all()


def test_s1_backscatter_coefficients_and_card4l_bands():
    d = world.acquisition_dates("sentinel-1-grd", datetime(2020, 6, 1, tzinfo=UTC), datetime(2020, 6, 10, tzinfo=UTC))[0]
    g0 = world.band_value("sentinel-1-grd", "VV", d, LON, LAT)
    s0 = world.band_value("sentinel-1-grd", "VV", d, LON, LAT, options={"backCoeff": "SIGMA0_ELLIPSOID"})
    assert (s0 < g0).all()
    inc = world.band_value("sentinel-1-grd", "localIncidenceAngle", d, LON, LAT)
    assert 10 < inc.min() and inc.max() < 60
    with pytest.raises(Exception):
        filters.check_bands("sentinel-1-grd", ["scatteringArea"], {"orthorectify": True})
    with pytest.raises(Exception):
        filters.check_bands("sentinel-1-grd", ["HH"], {"polarization": "DV"})
    filters.check_bands("sentinel-1-grd", ["HH", "HV"], {"polarization": "DH"})


def test_scene_filters_select_landsat_tiers_and_hls_constellations():
    t0, t1 = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 31, tzinfo=UTC)
    every = world.mosaic_dates("landsat-ot-l2", t0, t1)
    tier1 = world.mosaic_dates("landsat-ot-l2", t0, t1, options={"tiers": "TIER_1"})
    assert 0 < len(tier1) < len(every)
    hls_s = world.mosaic_dates("hls", t0, t1, options={"constellation": "SENTINEL"})
    hls_l = world.mosaic_dates("hls", t0, t1, options={"constellation": "LANDSAT"})
    assert sorted(hls_s + hls_l) == sorted(world.mosaic_dates("hls", t0, t1)) and hls_s and hls_l


def test_dem_instances_differ_and_egm_adds_geoid():
    c30 = world.band_value("dem", "DEM", None, LON, LAT, options={"demInstance": "COPERNICUS_30"})
    c90 = world.band_value("dem", "DEM", None, LON, LAT, options={"demInstance": "COPERNICUS_90"})
    egm = world.band_value("dem", "DEM", None, LON, LAT, options={"demInstance": "COPERNICUS_30", "egm": True})
    assert not np.array_equal(c30, c90) and np.abs(c30 - c90).max() < 200 and not np.array_equal(c30, egm)


@pytest.mark.parametrize("collection,data_filter,processing", [
    ("sentinel-2-l2a", {"polarization": "DV"}, {}),
    ("sentinel-1-grd", {"polarization": "XX"}, {}),
    ("sentinel-1-grd", {}, {"backCoeff": "GAMMA0_TERRAIN"}),  # needs orthorectify
    ("sentinel-5p-l2", {"timeliness": "SLOW"}, {}),
    ("sentinel-5p-l2", {}, {"minQa": 101}),
    ("landsat-ot-l2", {"tiers": "TIER_1_AND_RT"}, {}),
    ("modis", {"maxCloudCoverage": 20}, {}),
    ("dem", {"demInstance": "SRTM"}, {}),
])
async def test_invalid_filters_are_sh_400s(emu, collection, data_filter, processing):
    body = process_body(collection=collection)
    body["input"]["data"][0]["dataFilter"].update(data_filter)
    if processing:
        body["input"]["data"][0]["processing"] = processing
    await sh_error(await emu.process(body), 400)


async def test_s5p_renders_with_min_qa_through_the_process_api(emu):
    script = """//VERSION=3
function setup() { return {input: ["NO2", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.NO2, s.dataMask]; }
"""
    body = process_body(script, collection="sentinel-5p-l2", bbox=(5.0, 45.0, 7.0, 46.0))
    data, *_ = read_raster(await (await emu.process(body, deployment="/creodias")).read())
    assert 0 < (data[1] == 0).mean() < 1 and (data[0][data[1] == 0] == 0).all()
    body["input"]["data"][0]["processing"] = {"minQa": 0}
    data, *_ = read_raster(await (await emu.process(body, deployment="/creodias")).read())
    assert (data[1] == 1).all()
