"""The emulator's world looks like a landscape at every scale (issue 23): sharp edges at 10 m
(fields, roads, rivers, coasts), land and water and land cover zones at 2 km, and no aliasing
pattern on coarse grids (features smaller than a pixel are left out, as downsampling would)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from sentinelhub_emulator import world

DAY = datetime(2024, 6, 20, 10, 30, tzinfo=timezone.utc)  # 3.6 % scene cloud cover


def b04(bbox, width, height, crs=4326):
    lon, lat = world.pixel_centers_lonlat(bbox, crs, width, height, views=True)
    return world.band_value("sentinel-2-l2a", "B04", DAY, lon, lat)


def land(bbox, width, height):
    lon, lat = world.pixel_centers_lonlat(bbox, 4326, width, height)
    return world._landscape(lon, lat)


def test_ten_metre_pixels_show_fields_with_sharp_straight_edges():
    # 2.5 km at 10 m around a river in farmland (docs/world/zoom-14.png)
    bbox = (6.7236, 48.4146, 6.7456, 48.4292)
    image = b04(bbox, 163, 162)
    steps = np.abs(np.diff(image, axis=1))
    assert (steps > 0.02).mean() > 0.002  # edges between fields, roads, the river
    assert (steps < 1e-3).mean() > 0.8  # inside a field the surface is uniform (not a gradient)
    # field edges are straight north-south lines: the same columns jump in most rows
    jumps = (steps > 0.01).mean(axis=0)
    assert (jumps > 0.4).sum() >= 3
    water = land(bbox, 163, 162)["water"]
    assert 0.01 < water.mean() < 0.5  # the river


def test_two_kilometre_pixels_show_land_water_and_zones_not_a_gradient():
    bbox = (0.0, 40.0, 10.0, 48.0)  # ~800 x 900 km at ~2 km
    scene = land(bbox, 400, 400)
    assert 0.05 < scene["water"].mean() < 0.8
    veg = scene["veg"][~scene["water"]]
    assert veg.std() > 0.1  # forests, farmland, towns: not one value
    # coasts are edges between two neighbouring pixels, not a smooth ramp
    steps = np.abs(np.diff(b04(bbox, 400, 400), axis=1))
    assert np.percentile(steps, 99.5) > 0.05


@pytest.mark.parametrize("pixel_deg", [0.04, 0.01])
def test_coarse_grids_do_not_alias(pixel_deg):
    """A grid shifted by half a pixel shows the same picture (aliasing would scramble it): point
    sampling of features smaller than a pixel gives a noise or a dot pattern that changes with the
    shift; the world leaves them out at that pixel size."""
    n = 200
    west, south = 9.3, 44.1
    bbox = (west, south, west + n * pixel_deg, south + n * pixel_deg)
    half = pixel_deg / 2
    a = land(bbox, n, n)["veg"]
    b = land((bbox[0] + half, bbox[1] + half, bbox[2] + half, bbox[3] + half), n, n)["veg"]
    # same place, half a pixel apart: compare the overlapping interior
    assert np.corrcoef(a[1:, :-1].ravel(), b[1:, :-1].ravel())[0, 1] > 0.6 or np.abs(a - b).mean() < 0.05
    # no structure finer than a pixel: fields and roads are replaced by their mean
    farmland = (np.abs(a - (0.1 + 0.85 * 0.5)) < 1e-6).mean()
    assert farmland > 0.2


def test_the_landscape_is_deterministic_and_the_same_on_every_kind_of_grid():
    bbox = (6.7236, 48.4146, 6.7356, 48.4246)
    lon, lat = world.pixel_centers_lonlat(bbox, 4326, 120, 100)
    lon_v, lat_v = world.pixel_centers_lonlat(bbox, 4326, 120, 100, views=True)
    first, again, views = world._landscape(lon, lat), world._landscape(lon.copy(), lat.copy()), world._landscape(lon_v, lat_v)
    for key in ("veg", "water", "relief"):
        np.testing.assert_array_equal(first[key], again[key])
        np.testing.assert_array_equal(first[key], views[key])
    # the separable path (4326 / Web Mercator grids) and the general one (UTM) are the same function
    for k in range(len(world._OCTAVES)):
        np.testing.assert_array_equal(world._value_noise_separable(lon[:1], lat[:, :1], k), world._value_noise(lon, lat, k))
