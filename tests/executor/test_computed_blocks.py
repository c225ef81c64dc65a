"""Blocks of a chunked result computed a few at a time (executor_svc/encoding/blocks.py): every
block once, in C order, equal to the whole computation, from a graph held one section at a time."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from executor_svc.encoding import blocks


def _graph(side=40, chunk=8):
    base = da.arange(3 * side * side, dtype="f4").reshape(3, side, side).rechunk((1, chunk, chunk))
    # a neighbourhood and a reduction, so blocks share tasks across block borders
    smoothed = da.map_overlap(lambda a: a + np.roll(a, 1, axis=-1), base, depth={1: 1, 2: 1}, boundary="none")
    return (smoothed * 2 - base.mean(axis=0)).astype("f4")


@pytest.mark.parametrize("section", [1, 4, 7, 1000])
@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_every_block_once_in_c_order_equal_to_the_whole(monkeypatch, section, parallel):
    monkeypatch.setattr(blocks, "_SECTION_BLOCKS", section)
    array = _graph()
    expected = array.compute()
    out = np.full(array.shape, np.nan, dtype=array.dtype)
    seen = []
    for window, block in blocks.computed_blocks(array, parallel=parallel):
        seen.append(window)
        out[window] = block
    assert seen == [window for _, window in blocks.block_windows(array)]
    np.testing.assert_array_equal(out, expected)


def test_the_graph_is_held_for_one_section_only(monkeypatch):
    monkeypatch.setattr(blocks, "_SECTION_BLOCKS", 8)
    array = _graph(side=80)  # 300 blocks
    whole = len(dict(array.__dask_optimize__(array.__dask_graph__(), array.__dask_keys__())))
    computer = blocks.BlockComputer(array)
    held = []
    real_compute = computer.compute

    def compute(indexes):
        held.append(len(computer._graph))
        return real_compute(indexes)

    computer.compute = compute
    monkeypatch.setattr(blocks, "BlockComputer", lambda _: computer)
    assert sum(1 for _ in blocks.computed_blocks(array, parallel=2)) == array.npartitions
    assert len(held) == 150  # 37 sections of 8 (4 pairs each) and one of 4 (2 pairs)
    assert max(held) < whole / 5, (max(held), whole)


def test_a_block_outside_the_prepared_section_is_still_computed():
    array = _graph()
    computer = blocks.BlockComputer(array)
    computer.prepare([(0, 0, 0)])
    (block,) = computer.compute([(2, 4, 1)])
    np.testing.assert_array_equal(block, array.blocks[2, 4, 1].compute())
