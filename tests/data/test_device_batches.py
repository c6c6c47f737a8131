"""Batches cut on the volume's device: the same patches as on the CPU, no host work per batch.

The CUDA tests run where torch sees a GPU (the benchmark machine); the CPU tests check
that the device path's inputs (tensor rows, tensor flips) cut what NumPy inputs cut.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facies.data.patches import PatchBatches
from facies.data.splits import InlineRange
from facies.data.tiling import patch_table
from facies.data.traces import TraceBatches
from facies.data.volume import Volume

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
AUGMENT = {"enabled": True, "amplitude_scale": 0.2, "noise": 0.05}


def encoded(nil=24, nxl=20, ns=16) -> Volume:
    """Amplitude that encodes its own position; labels the inline modulo 5."""
    i, x, s = np.meshgrid(np.arange(nil), np.arange(nxl), np.arange(ns), indexing="ij")
    return Volume((i * 10000 + x * 100 + s).astype(np.float32), (i % 5).astype(np.int16), -1)


def table(volume: Volume):
    nil, nxl, ns = volume.shape
    return patch_table(InlineRange(0, nil), nxl, ns, size=(8, 8), stride=(4, 4))


def test_tensor_rows_and_flips_cut_what_numpy_ones_cut():
    volume = encoded()
    patches = table(volume)
    rows = np.array([0, 5, 17, 3, len(patches) - 1])
    flips = np.array([True, False, True, False, True])
    expected = volume.cut(patches, rows, (8, 8), flips)
    got = volume.cut(patches, torch.as_tensor(rows), (8, 8), torch.as_tensor(flips))
    for key in ("image", "mask", "kind", "section", "lateral", "sample"):
        assert torch.equal(expected[key], got[key]), key
    # a flipped patch is the mirror of the unflipped one
    plain = volume.cut(patches, rows[:1], (8, 8))
    assert torch.equal(expected["image"][0], plain["image"][0].flip(-1))


def test_a_volume_keeps_a_bounded_number_of_tables_on_its_device():
    volume = encoded()
    tables = [table(volume) for _ in range(20)]
    for t in tables:
        volume.cut(t, np.array([0]), (8, 8))
    assert len(volume._columns) <= 8
    assert volume.columns(tables[-1]) is volume.columns(tables[-1])  # held, not copied again


def cuda_pair():
    cpu = encoded()
    gpu = encoded().to("cuda")
    return cpu, gpu, table(cpu)


@CUDA
def test_patch_batches_on_the_gpu_equal_the_cpu_ones_without_augmentation():
    cpu, gpu, patches = cuda_pair()
    on_cpu = list(PatchBatches(cpu, patches, (8, 8), batch_size=7, shuffle=True, seed=3))
    on_gpu = list(PatchBatches(gpu, patches, (8, 8), batch_size=7, shuffle=True, seed=3))
    assert len(on_cpu) == len(on_gpu)
    for a, b in zip(on_cpu, on_gpu, strict=True):
        assert b["image"].is_cuda and b["mask"].is_cuda
        assert torch.equal(a["image"], b["image"].cpu())
        assert torch.equal(a["mask"], b["mask"].cpu())


@CUDA
def test_augmented_gpu_batches_are_drawn_on_the_device_and_reproducible():
    _, gpu, patches = cuda_pair()

    def epoch():
        batches = PatchBatches(gpu, patches, (8, 8), 7, shuffle=True, augmentation=AUGMENT)
        return [b["image"].cpu() for b in batches]

    first, second = epoch(), epoch()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    clean = [b["image"].cpu() for b in PatchBatches(gpu, patches, (8, 8), 7, shuffle=True)]
    assert not all(torch.equal(a, b) for a, b in zip(first, clean, strict=True))


def host_to_device_copies(fn) -> int:
    """Host-to-device memory copies the GPU ran during ``fn()``."""
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        fn()
        torch.cuda.synchronize()
    return sum(e.count for e in prof.key_averages() if "htod" in e.key.lower().replace(" ", ""))


@CUDA
@pytest.mark.parametrize("n_batches", [4, 16])
def test_gpu_batches_copy_nothing_from_the_host_per_batch(n_batches):
    """An epoch copies its order once; more batches must not mean more copies."""
    _, gpu, patches = cuda_pair()
    rows = n_batches * 8
    small = patches.subset(np.arange(rows) % len(patches))

    def epoch():
        for batch in PatchBatches(gpu, small, (8, 8), 8, shuffle=True, augmentation=AUGMENT):
            batch["image"].sum()

    epoch()  # the table's columns go to the device once
    copies = host_to_device_copies(epoch)
    assert copies <= 3, f"{copies} host-to-device copies for {n_batches} batches"


@CUDA
def test_trace_batches_on_the_gpu_equal_the_cpu_ones():
    cpu, gpu = encoded(), encoded().to("cuda")
    live = np.ones(cpu.shape[:2], dtype=bool)
    region = InlineRange(4, 12)
    a = list(TraceBatches(cpu, region, live, 9, radius=1, shuffle=True, seed=1))
    b = list(TraceBatches(gpu, region, live, 9, radius=1, shuffle=True, seed=1))
    for x, y in zip(a, b, strict=True):
        assert y["trace"].is_cuda
        assert torch.equal(x["trace"], y["trace"].cpu())
        assert torch.equal(x["mask"], y["mask"].cpu())


def test_a_survey_too_large_for_the_gpu_stays_in_host_memory(monkeypatch, caplog):
    """Free GPU memory below the survey's share: nothing is moved, a warning says why and
    what to do (runs without a GPU: the check comes before any copy)."""
    from tests.helpers import survey_module

    dm = survey_module(40)
    need = dm.volume.nbytes
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (need, 4 * need))
    with caplog.at_level("WARNING"):
        dm.move_to("cuda")
    assert dm.volume.device.type == "cpu"
    assert "stays in host memory" in caplog.text and "data.in_memory=false" in caplog.text


@CUDA
def test_a_survey_that_fits_goes_to_the_gpu_once_for_all_its_splits():
    from tests.helpers import survey_module

    dm = survey_module(40)
    dm.move_to("cuda")
    assert dm.volume.device.type == "cuda"
    assert all(h.volume.device.type == "cuda" for h in dm.held_out.values())
