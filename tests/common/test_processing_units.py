"""Sentinel Hub's PU formula (reference §2.6), the same as the emulator's accounting."""

from __future__ import annotations

import itertools

import pytest

from backend_common.processing_units import input_band_count, request_pu
from sentinelhub_emulator import pu as emulator_pu


def test_reference_worked_example_and_minimums():
    # 1024², 4 bands, FLOAT32, 2 samples, orthorectified S1 → 4·4/3·2·2·2
    assert request_pu(1024, 1024, 4, samples=2, s1_factor=2.0) == pytest.approx(42.6667, rel=1e-4)
    assert request_pu(1, 1, 3, format_factor=1.0) == pytest.approx(0.01)  # area factor at least 0.01
    assert request_pu(1, 1, 1, format_factor=1.0) == 0.005  # 0.01/3 is below the request minimum
    assert input_band_count(["B04", "B08", "dataMask"]) == 2 and input_band_count(["dataMask"]) == 1


@pytest.mark.parametrize("size, bands, samples, fmt", itertools.product(
    [(1, 1), (100, 37), (512, 512), (2500, 1999)], [1, 2, 5], [1, 3], ["float32", "png", "octet"]))
def test_same_as_the_emulators_accounting(size, bands, samples, fmt):
    factor = {"float32": 2.0, "png": 1.0, "octet": 1.4}[fmt]
    ours = request_pu(*size, bands, format_factor=factor, samples=samples)
    theirs = emulator_pu.processing_units(*size, bands, fmt == "float32", fmt == "octet", n_samples=samples)
    assert ours == pytest.approx(theirs, rel=1e-12)
