"""Trace batches stay inside their split, neighbourhoods included."""

from __future__ import annotations

import numpy as np

from facies.data.datamodule import IGNORE_INDEX
from facies.data.splits import InlineRange
from facies.data.traces import TraceBatches, cut_traces
from facies.data.volume import Volume


def encoded(nil=12, nxl=6, ns=5) -> Volume:
    i, x, s = np.meshgrid(np.arange(nil), np.arange(nxl), np.arange(ns), indexing="ij")
    return Volume((i * 100 + x + s / 10).astype(np.float32), i.astype(np.int64), IGNORE_INDEX)


def test_traces_come_from_their_split_only():
    volume, region = encoded(), InlineRange(4, 8)
    live = np.ones((12, 6), dtype=bool)
    live[5, 2] = False
    batches = TraceBatches(volume, region, live, batch_size=7, radius=1)
    traces = [b["trace"] for b in batches]
    assert sum(t.shape[0] for t in traces) == 4 * 6 - 1
    inlines = np.concatenate([(t // 100).numpy().ravel() for t in traces])
    assert set(np.unique(inlines)) <= {4, 5, 6, 7}  # neighbours clamped to the split


def test_neighbourhood_channels_are_the_surrounding_traces():
    volume = encoded()
    batch = cut_traces(volume, np.array([5]), np.array([3]), InlineRange(0, 12), 1)
    values = batch["trace"][0, :, 0].numpy()  # first sample of each of 9 traces
    expected = [(5 + di) * 100 + 3 + dx for di in (-1, 0, 1) for dx in (-1, 0, 1)]
    np.testing.assert_allclose(values, expected)
    assert batch["mask"].shape == (1, 5)
