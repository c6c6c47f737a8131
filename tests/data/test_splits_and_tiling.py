"""Splits cannot leak; tiles cover every sample; batches come out the right way up."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facies.data.datamodule import IGNORE_INDEX, SurveyDataModule
from facies.data.normalization import estimate_stats
from facies.data.splits import InlineRange, make_splits
from facies.data.tiling import CROSSLINE_SECTION, INLINE_SECTION, patch_table, tile_starts
from facies.data.volume import Volume
from facies.errors import ConfigError
from facies.sources.synthetic import synthetic_dataset


def encoded_volume(nil=40, nxl=24, ns=20) -> Volume:
    """Amplitude encodes (inline, crossline, sample) so each patch value tells its source."""
    i, x, s = np.meshgrid(np.arange(nil), np.arange(nxl), np.arange(ns), indexing="ij")
    amplitude = (i * 10_000 + x * 100 + s).astype(np.float32)
    return Volume(amplitude, i.astype(np.int64), IGNORE_INDEX)


@pytest.mark.parametrize("length,size,stride", [(10, 4, 3), (8, 8, 2), (5, 8, 4), (33, 16, 16)])
def test_tiles_cover_every_sample_and_stay_inside(length, size, stride):
    starts = tile_starts(length, size, stride)
    covered = np.zeros(max(length, size), dtype=int)
    for s in starts:
        covered[s : s + size] += 1
    assert covered[:length].min() >= 1
    assert starts.max() + size <= max(length, size)
    assert np.all(np.diff(starts) <= stride)


def test_splits_are_ordered_disjoint_and_gapped():
    splits = make_splits(100, {"train": 0.6, "val": 0.2, "test": 0.2}, gap=8)
    train, val, test = splits["train"], splits["val"], splits["test"]
    # train | gap | val | test: the gap only between training and held-out inlines
    assert val.start - train.stop == 8 and test.start == val.stop and test.stop == 100
    with pytest.raises(ConfigError, match="at least 8 apart"):
        make_splits(100, ranges={"train": [0, 50], "val": [52, 60]}, gap=8)
    with pytest.raises(ConfigError, match="empty or outside"):
        make_splits(10, ranges={"train": [0, 20]}, gap=0)


@pytest.mark.parametrize("split", ["val", "test"])
def test_no_sample_of_a_held_out_patch_lies_in_the_training_region(split):
    nil = 40
    splits = make_splits(nil, {"train": 0.5, "val": 0.2, "test": 0.3}, gap=4)
    volume = encoded_volume(nil)
    size = (8, 8)
    train_inlines = set(range(splits["train"].start, splits["train"].stop))
    for name, region in splits.items():
        table = patch_table(region, 24, 20, size, (4, 4))
        batch = volume.cut(table, np.arange(len(table)), size)
        valid = batch["mask"] != IGNORE_INDEX
        inlines = set((batch["image"][:, 0][valid] // 10_000).long().unique().tolist())
        assert inlines <= set(range(region.start, region.stop))  # only its own inlines
        if name == split:
            assert not inlines & train_inlines


def test_patches_are_samples_down_traces_across():
    volume = encoded_volume()
    table = patch_table(InlineRange(5, 15), 24, 20, (8, 8), (8, 8))
    inline_row = np.flatnonzero((table.kind == INLINE_SECTION) & (table.section == 7))[0]
    cross_row = np.flatnonzero(table.kind == CROSSLINE_SECTION)[0]
    batch = volume.cut(table, np.array([inline_row, cross_row]), (8, 8))
    image = batch["image"][:, 0]
    # inline section 7: rows are samples, columns crosslines
    assert image[0, 3, 2] == 7 * 10_000 + (table.lateral[inline_row] + 2) * 100 + 3
    # crossline section: columns are inlines, inside the split only
    xl = table.section[cross_row]
    assert image[1, 0, 1] == (table.lateral[cross_row] + 1) * 10_000 + xl * 100


def test_short_sections_are_padded_with_the_ignore_label():
    volume = encoded_volume(nil=6, nxl=5, ns=7)
    table = patch_table(InlineRange(0, 6), 5, 7, (8, 8), (8, 8), ("crossline",))
    batch = volume.cut(table, np.arange(len(table)), (8, 8))
    assert (batch["mask"][:, 7, :] == IGNORE_INDEX).all()  # past the last sample
    assert (batch["mask"][:, :, 6:] == IGNORE_INDEX).all()  # past the split's 6 inlines
    assert (batch["image"][:, 0, 7, :] == 0).all()


def test_normalisation_uses_the_training_region_only():
    survey = synthetic_dataset(n_inlines=32, n_crosslines=16, n_samples=32)
    survey["amplitude"][20:] *= 100  # a loud region outside training
    ranges = {"train": [0, 12], "val": [20, 22], "test": [30, 32]}
    dm = SurveyDataModule(
        survey, patch=(16, 16), stride=(16, 16), size_multiple=8, splits={"ranges": ranges}
    )
    dm.setup()
    amp, live = survey["amplitude"].values, survey["live"].values
    expected = estimate_stats(amp[:12], live[:12])
    assert dm.norm_stats == expected
    assert dm.norm_stats.scale < np.abs(amp[20:]).max() / 10


def test_training_batches_only_flip_laterally():
    survey = synthetic_dataset(n_inlines=32, n_crosslines=16, n_samples=32)
    flips_only = {"enabled": True, "amplitude_scale": 0.0, "noise": 0.0}
    dm = SurveyDataModule(
        survey, patch=(16, 16), stride=(16, 16), size_multiple=8, batch_size=64,
        augmentation=flips_only,
    )  # fmt: skip
    dm.setup()
    plain = dm.volume.cut(dm.tables["train"], np.arange(len(dm.tables["train"])), (16, 16))
    batch = next(iter(dm.train_dataloader()))
    for image in batch["image"][:, 0]:
        matches = [
            torch.equal(image, p) or torch.equal(image, p.flip(-1)) for p in plain["image"][:, 0]
        ]
        assert any(matches)  # never flipped upside down, never transposed


def test_patches_without_labels_are_skipped():
    survey = synthetic_dataset(n_inlines=32, n_crosslines=16, n_samples=32)
    labels = survey["labels"].values
    labels[:, :, :] = 255
    labels[3, :, :] = 1  # one interpreted inline
    survey.attrs["ignore_label"] = 255
    dm = SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                          directions=("inline",))  # fmt: skip
    dm.setup()
    assert set(dm.tables["train"].section.tolist()) == {3}
