"""The synthetic world: schedules, cloud consistency, value ranges, determinism, grids."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from pyproj import Transformer

from sentinelhub_emulator import world

UTC = timezone.utc
YEAR = (datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC))


def test_sentinel1_passes_both_orbit_directions():
    dates = world.acquisition_dates("sentinel-1-grd", *YEAR)
    ascending = [d for d in dates if world.orbit_state("sentinel-1-grd", d) == "ascending"]
    descending = [d for d in dates if world.orbit_state("sentinel-1-grd", d) == "descending"]
    assert sorted(ascending + descending) == dates and len(ascending) in (60, 61) and len(descending) in (60, 61)
    for passes, hour in ((ascending, 17), (descending, 5)):
        assert all(b - a == timedelta(days=6) for a, b in zip(passes, passes[1:])) and {d.hour for d in passes} == {hour}
    assert len({d.date() for d in dates}) == len(dates)  # one pass a UTC day at most
    assert world.mosaic_dates("sentinel-1-grd", *YEAR, "leastRecent", orbit_direction="DESCENDING") == descending
    assert world.orbit_state("sentinel-2-l2a", dates[0]) is None


@pytest.mark.parametrize("collection,days,hour", [("sentinel-2-l2a", 5, 10), ("sentinel-2-l1c", 5, 10),
                                                  ("landsat-ot-l2", 8, 10)])
def test_revisit_schedule(collection, days, hour):
    dates = world.acquisition_dates(collection, *YEAR)
    assert all(b - a == timedelta(days=days) for a, b in zip(dates, dates[1:]))
    assert all(d.hour == hour for d in dates)
    assert len(dates) in (365 // days, 365 // days + 1)
    # both ends inclusive
    d = dates[3]
    assert world.acquisition_dates(collection, d, d) == [d]
    assert world.acquisition_dates(collection, d + timedelta(seconds=1), d + timedelta(days=days) - timedelta(seconds=1)) == []
    assert world.acquisition_dates("dem", *YEAR) == []


def test_cloudy_days_and_scl_consistency():
    s2 = "sentinel-2-l2a"
    dates = world.acquisition_dates(s2, *YEAR)
    cc = np.array([world.scene_cloud_cover(s2, d) for d in dates])
    assert ((cc > 60).mean() > 0.15) and ((cc < 30).mean() > 0.4)
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 14.0, 46.0), None, 300, 300)  # cells of 0.01°: 10 000 cells
    for d in dates[:12]:
        scl = world.band_value(s2, "SCL", d, lon, lat)
        frac = np.isin(scl, (8, 9)).mean() * 100
        assert abs(frac - world.scene_cloud_cover(s2, d)) < 3.0
        b02 = world.band_value(s2, "B02", d, lon, lat)
        assert b02[np.isin(scl, (8, 9))].min() > b02[scl == 4].max()  # clouds are bright
    assert world.scene_cloud_cover("sentinel-1-grd", dates[0]) == 0.0


def test_values_are_plausible_and_deterministic():
    d = datetime(2021, 7, 16, 10, 30, tzinfo=UTC)
    lon, lat = world.pixel_centers_lonlat((5.0, 40.0, 25.0, 55.0), None, 200, 150)
    l2a = world.band_values("sentinel-2-l2a", ["B04", "B08", "SCL", "AOT"], d, lon, lat)
    assert l2a["B04"].min() >= 0 and l2a["B08"].max() <= 0.55
    veg = l2a["SCL"] == 4
    assert veg.any() and (l2a["B08"][veg] > 2 * l2a["B04"][veg]).all()  # vegetation: high NIR
    dn = world.band_value("sentinel-2-l2a", "B04", d, lon, lat, units="DN")
    np.testing.assert_array_equal(dn, np.round(dn))
    np.testing.assert_array_equal(dn / 10000.0, l2a["B04"])
    aot_dn = world.band_value("sentinel-2-l2a", "AOT", d, lon, lat, units="DN")
    np.testing.assert_array_equal(aot_dn / 1000.0, l2a["AOT"])
    s1d = world.acquisition_dates("sentinel-1-grd", d, d + timedelta(days=6))[0]
    s1 = world.band_values("sentinel-1-grd", ["VV", "VH"], s1d, lon, lat)
    assert 0.001 <= s1["VH"].min() and s1["VV"].max() <= 0.5 and (s1["VH"] <= s1["VV"]).all()
    dem = world.band_value("dem", "DEM", None, lon, lat)
    assert 0 <= dem.min() and dem.max() <= 3000 and dem.max() > 1000
    assert world.band_values("sentinel-2-l1c", ["B10"], d, lon, lat)["B10"].max() > 0
    again = world.band_values("sentinel-2-l2a", ["B04", "B08", "SCL", "AOT"], d, lon, lat)
    for k in l2a:
        np.testing.assert_array_equal(l2a[k], again[k])
    # pure function of the point: a sub-grid gives the same values
    np.testing.assert_array_equal(world.band_value("sentinel-2-l2a", "B04", d, lon[10:20, 5:9], lat[10:20, 5:9]),
                                  l2a["B04"][10:20, 5:9])


def test_unknown_band_and_collection():
    with pytest.raises(KeyError):
        world.band_value("sentinel-2-l2a", "B10", datetime(2021, 6, 1, tzinfo=UTC), 0.0, 0.0)
    with pytest.raises(KeyError):
        world.collection_spec("sentinel-7")
    assert world.collection_spec("S2L2A").id == "sentinel-2-l2a"


def test_pixel_centres_in_utm():
    bbox = (500000.0, 5000000.0, 500100.0, 5000040.0)
    lon, lat = world.pixel_centers_lonlat(bbox, "http://www.opengis.net/def/crs/EPSG/0/32633", 10, 4)
    t = Transformer.from_crs(32633, 4326, always_xy=True)
    elon, elat = t.transform(500005.0, 5000035.0)
    assert lon[0, 0] == pytest.approx(elon, abs=1e-12) and lat[0, 0] == pytest.approx(elat, abs=1e-12)
    elon, elat = t.transform(500095.0, 5000005.0)
    assert lon[-1, -1] == pytest.approx(elon, abs=1e-12) and lat[-1, -1] == pytest.approx(elat, abs=1e-12)


def test_mosaic_dates_orders():
    s2 = "sentinel-2-l2a"
    dates = world.acquisition_dates(s2, *YEAR)
    assert world.mosaic_dates(s2, *YEAR) == dates[::-1]
    assert world.mosaic_dates(s2, *YEAR, "leastRecent") == dates
    least = world.mosaic_dates(s2, *YEAR, "leastCC")
    assert [world.scene_cloud_cover(s2, d) for d in least] == sorted(world.scene_cloud_cover(s2, d) for d in dates)
    assert all(world.scene_cloud_cover(s2, d) <= 20 for d in world.mosaic_dates(s2, *YEAR, max_cloud_coverage=20))


@pytest.mark.parametrize("bbox", [(13.0, 45.0, 13.0007, 45.0005), (13.0, 45.0, 13.2, 45.2)])
def test_every_band_is_a_pure_function_of_the_point_and_the_pixel_size(bbox):
    """Views and arrays of one grid agree; a point (full detail) agrees with a fine grid (10 m: no
    feature of the world is smaller than its pixels); a coarse grid leaves out what its pixels are
    too large to show, so only the fine grid is compared with points."""
    lon, lat = world.pixel_centers_lonlat(bbox, None, 7, 5)
    lon_v, lat_v = world.pixel_centers_lonlat(bbox, None, 7, 5, views=True)
    fine = bbox[2] - bbox[0] < 0.01
    d = datetime(2021, 6, 1, 10, 30, tzinfo=UTC)
    for c in world.COLLECTIONS:
        date = None if c == "dem" else d
        grid = world.band_values(c, world.collection_spec(c).band_names, date, lon, lat)
        views = world.band_values(c, world.collection_spec(c).band_names, date, lon_v, lat_v)
        for b, arr in grid.items():
            np.testing.assert_array_equal(views[b], arr)
            for i, j in ((0, 0), (2, 3), (4, 6)):
                at_point = world.band_value(c, b, date, float(lon[i, j]), float(lat[i, j]))
                assert (at_point == arr[i, j]) or not fine, (c, b)


@pytest.mark.parametrize("collection", ["sentinel-2-l1c", "sentinel-2-l2a"])
def test_sentinel2_angle_and_s2cloudless_bands(collection):
    """As on Sentinel Hub main: the four angle bands (degrees, ~5 km cells) and CLP/CLM, whose mask
    agrees with the cloud field (SCL 8/9 on L2A) and whose probability crosses 0.4 exactly there."""
    lon, lat = world.pixel_centers_lonlat((13.0, 45.0, 13.3, 45.3), None, 120, 90)
    for d in world.acquisition_dates(collection, *YEAR)[:8]:
        v = world.band_values(collection, [*world._S2_ANGLES, "CLP", "CLM"], d, lon, lat)
        assert 0 <= v["sunZenithAngles"].min() and v["sunZenithAngles"].max() < 90
        assert 0 <= v["sunAzimuthAngles"].min() and v["sunAzimuthAngles"].max() < 360
        assert 0 <= v["viewZenithMean"].min() and v["viewZenithMean"].max() <= 11.5
        assert set(np.unique(v["viewAzimuthMean"] // 100)) <= {1.0, 2.0}
        cell = (np.floor(lon / world.ANGLE_CELL_DEG), np.floor(lat / world.ANGLE_CELL_DEG))
        for band in world._S2_ANGLES:  # constant within each cell
            for key in set(zip(cell[0].ravel()[::97], cell[1].ravel()[::97])):
                inside = (cell[0] == key[0]) & (cell[1] == key[1])
                assert np.ptp(v[band][inside]) == 0
        cloudy = world.cloud_field(collection, d, lon, lat) < world.scene_cloud_cover(collection, d) / 100
        np.testing.assert_array_equal(v["CLM"], cloudy.astype(float))
        assert v["CLP"].min() >= 0 and v["CLP"].max() <= 255 and np.all(v["CLP"] == np.round(v["CLP"]))
        np.testing.assert_array_equal(v["CLP"] / 255 >= 0.4, cloudy)
        if collection == "sentinel-2-l2a":
            scl = world.band_value(collection, "SCL", d, lon, lat)
            np.testing.assert_array_equal(np.isin(scl, (8, 9)), cloudy)
    # summer sun stands higher than winter sun at mid latitudes
    summer, winter = (world.band_value(collection, "sunZenithAngles", datetime(2021, m, 15, 10, 30, tzinfo=UTC),
                                       13.0, 45.0) for m in (6, 12))
    assert summer + 30 < winter
