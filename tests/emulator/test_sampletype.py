"""sampleType conversions (rounding, clamping, AUTO ×255) end to end and as a unit."""
from __future__ import annotations

import numpy as np
import pytest

from sentinelhub_emulator.sampletype import convert

from .conftest import process_body, read_raster

VALUES = [-300.4, -1.5, -0.5, 0.0, 0.2, 0.5, 1.0, 40.4, 40.5, 40.6, 130.0, 310.0, 70000.0, float("nan")]


def script(sample_type):
    return f"""//VERSION=3
function setup() {{ return {{input: ["B04"], output: {{bands: {len(VALUES)}, sampleType: "{sample_type}"}}}}; }}
function evaluatePixel(s) {{ return [{", ".join("NaN" if np.isnan(v) else repr(v) for v in VALUES)}]; }}
"""


@pytest.mark.parametrize("sample_type,dtype,expected", [
    ("UINT8", np.uint8, [0, 0, 0, 0, 0, 1, 1, 40, 41, 41, 130, 255, 255, 0]),
    ("UINT16", np.uint16, [0, 0, 0, 0, 0, 1, 1, 40, 41, 41, 130, 310, 65535, 0]),
    ("INT8", np.int8, [-128, -1, 0, 0, 0, 1, 1, 40, 41, 41, 127, 127, 127, 0]),
    ("INT16", np.int16, [-300, -1, 0, 0, 0, 1, 1, 40, 41, 41, 130, 310, 32767, 0]),
    ("AUTO", np.uint8, [0, 0, 0, 0, 51, 128, 255, 255, 255, 255, 255, 255, 255, 0]),
])
async def test_sample_types_end_to_end(emu, sample_type, dtype, expected):
    resp = await emu.process(process_body(script(sample_type), width=3, height=2))
    assert resp.status == 200, await resp.text()
    data, *_ = read_raster(await resp.read())
    assert data.dtype == dtype
    assert data[:, 0, 0].tolist() == expected
    assert (data == data[:, :1, :1]).all()


async def test_float32_keeps_values(emu):
    data, *_ = read_raster(await (await emu.process(process_body(script("FLOAT32"), width=2, height=2))).read())
    assert data.dtype == np.float32
    np.testing.assert_array_equal(data[:, 1, 1], np.array(VALUES, dtype=np.float32))


def test_convert_unit():
    v = np.array([[0.999], [0.001]])
    assert convert(v, "AUTO").ravel().tolist() == [255, 0]
    assert convert(np.array([254.5, -0.5]), "UINT8").tolist() == [255, 0]
