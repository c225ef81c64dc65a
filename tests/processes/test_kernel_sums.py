"""apply_kernel's weighted sums (`processes/kernel._valid`) against the definition, written out:
out[y, x] = sum over i, j of kernel[i][j] * padded[y + i, x + j] (no mirroring), including
kernels large enough to run in blocks of rows."""

from __future__ import annotations

import numpy as np
import pytest

from executor_svc.processes.kernel import WEIGHTS_PER_CALL, _valid


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (5, 7), (11, 3), (3, 401), (65, 65)])
def test_weighted_sums_follow_the_definition(shape):
    kh, kw = shape
    rng = np.random.default_rng(kh * 1000 + kw)
    ny, nx = 23, 31
    padded = rng.random((2, ny + kh - 1, nx + kw - 1)).astype(np.float32)
    kernel = rng.normal(size=shape)
    expected = np.zeros((2, ny, nx))
    for i in range(kh):
        for j in range(kw):
            expected += kernel[i, j] * padded[:, i:i + ny, j:j + nx].astype(np.float64)
    got = _valid(padded, kernel, ny, nx)
    assert got.dtype == np.float32 and got.shape == (2, ny, nx)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(kernel).sum())


def test_a_large_kernel_checks_the_run_between_blocks_of_rows():
    kernel = np.ones((65, 65))
    calls = []
    _valid(np.zeros((1, 70, 70), dtype=np.float32), kernel, 6, 6, check=lambda: calls.append(1))
    assert len(calls) == -(-65 // max(1, WEIGHTS_PER_CALL // 65)) > 1
