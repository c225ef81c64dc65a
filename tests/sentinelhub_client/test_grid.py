import numpy as np
import pytest

from executor_svc.sentinelhub.grid import PixelGrid, epsg_of, needs_split, split_grid, sub_request

UTM = "http://www.opengis.net/def/crs/EPSG/0/32633"


def request(width=5000, height=3000, bbox=(500000.0, 4000000.0, 550000.0, 4030000.0), crs=UTM):
    return {
        "input": {"bounds": {"bbox": list(bbox), "properties": {"crs": crs}}, "data": [{"type": "sentinel-2-l2a"}]},
        "output": {"width": width, "height": height, "responses": [{"identifier": "default"}]},
        "evalscript": "//VERSION=3",
    }


def test_epsg_of_urls():
    assert epsg_of(UTM) == 32633
    assert epsg_of("http://www.opengis.net/def/crs/OGC/1.3/CRS84") == 4326
    assert epsg_of(None) == 4326


def test_grid_from_resolution_rounds_half_up():
    req = request()
    req["output"] = {"resx": 10.0, "resy": 10.0}
    grid = PixelGrid.of_request(req)
    assert (grid.width, grid.height) == (5000, 3000)
    assert tuple(grid.transform)[:6] == (10.0, 0.0, 500000.0, 0.0, -10.0, 4030000.0)
    assert grid.crs == "EPSG:32633"


def test_split_tiles_cover_grid_exactly_once_and_are_bounded():
    grid = PixelGrid.of_request(request(5001, 2501))
    assert needs_split(grid, 2500)
    tiles = split_grid(grid, 2048)
    assert max(t.width for t in tiles) <= 2048 and max(t.height for t in tiles) <= 2048
    cover = np.zeros((grid.height, grid.width), dtype=int)
    for t in tiles:
        cover[t.row : t.row + t.height, t.col : t.col + t.width] += 1
    assert (cover == 1).all()
    assert len(tiles) == 3 * 2  # fewest tiles, near-equal sizes
    assert {t.width for t in tiles} == {1667} and {t.height for t in tiles} == {1250, 1251}


def test_sub_bboxes_are_pixel_aligned_and_seamless():
    grid = PixelGrid(0.1, 0.2, 0.7, 0.9, 700, 333, 4326)  # awkward, non-representable pixel size
    tiles = split_grid(grid, 100)
    for t in tiles:
        minx, miny, maxx, maxy = t.bbox(grid)
        # edges computed from integer pixel offsets of the full grid
        assert minx == grid.minx + t.col * grid.res_x
        assert maxy == grid.maxy - t.row * grid.res_y
        # sub-pixel size equals the full grid's up to float rounding: no half-pixel shift
        assert abs((maxx - minx) / t.width - grid.res_x) < 1e-12
        assert abs((maxy - miny) / t.height - grid.res_y) < 1e-12
    # neighbours share their edge exactly, outer edges are the grid's own
    by_pos = {(t.row, t.col): t for t in tiles}
    for (row, col), t in by_pos.items():
        right = next((u for (r, c), u in by_pos.items() if r == row and c == col + t.width), None)
        if right is not None:
            assert t.bbox(grid)[2] == right.bbox(grid)[0]
    assert max(t.bbox(grid)[2] for t in tiles) == grid.maxx
    assert min(t.bbox(grid)[1] for t in tiles) == grid.miny


def test_sub_request_keeps_everything_but_bbox_and_size():
    req = request()
    req["output"] = {"resx": 10.0, "resy": 10.0, "responses": [{"identifier": "default"}]}
    grid = PixelGrid.of_request(req)
    tile = split_grid(grid, 2048)[1]
    sub = sub_request(req, grid, tile)
    assert sub["output"] == {"width": tile.width, "height": tile.height, "responses": [{"identifier": "default"}]}
    assert sub["input"]["bounds"]["bbox"] == tile.bbox(grid)
    assert sub["input"]["data"] == req["input"]["data"] and sub["evalscript"] == req["evalscript"]
    assert req["output"]["resx"] == 10.0  # original untouched


def test_geometry_only_bounds_use_geometry_extent():
    req = request(100, 100)
    req["input"]["bounds"] = {"geometry": {"type": "Polygon", "coordinates": [[[1, 2], [3, 2], [3, 5], [1, 2]]]}}
    grid = PixelGrid.of_request(req)
    assert (grid.minx, grid.miny, grid.maxx, grid.maxy, grid.epsg) == (1, 2, 3, 5, 4326)


def test_empty_request_is_an_openeo_error():
    from backend_common.errors import OpenEOError

    with pytest.raises(OpenEOError):
        PixelGrid.of_request({"input": {}})
