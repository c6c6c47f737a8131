"""DDP shards: every held-out row scored exactly once, equal batch counts, a new training
shard every epoch; the data module shards by the trainer's rank and world size."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from facies.data.datamodule import IGNORE_INDEX, NamedTestBatches, SurveyDataModule
from facies.data.sharding import Shard
from facies.data.tiling import CROSSLINE_SECTION, INLINE_SECTION
from facies.errors import ConfigError
from facies.sources.synthetic import synthetic_dataset


@pytest.mark.parametrize("n,world", [(7, 2), (8, 2), (5, 3), (1, 2), (2, 4)])
def test_evaluation_rows_are_scored_exactly_once_over_the_ranks(n, world):
    shards = [Shard(n, rank, world).rows() for rank in range(world)]
    assert len({len(rows) for rows, _ in shards}) == 1  # the same number of rows on every rank
    scored = np.concatenate([rows[keep] for rows, keep in shards])
    assert sorted(scored.tolist()) == list(range(n))


@pytest.mark.parametrize("n,world", [(7, 2), (9, 3), (3, 4)])
def test_training_shards_are_equal_cover_the_split_and_change_every_epoch(n, world):
    epoch0 = [Shard(n, rank, world, shuffle=True, seed=3).rows(0)[0] for rank in range(world)]
    assert len({len(rows) for rows in epoch0}) == 1
    assert set(np.concatenate(epoch0).tolist()) == set(range(n))
    if n >= world:  # padding only repeats rows when the split is not divisible
        assert len(np.concatenate(epoch0)) - n < world
    epoch1 = [Shard(n, rank, world, shuffle=True, seed=3).rows(1)[0] for rank in range(world)]
    assert any(not np.array_equal(a, b) for a, b in zip(epoch0, epoch1, strict=True))
    again = [Shard(n, rank, world, shuffle=True, seed=3).rows(0)[0] for rank in range(world)]
    assert all(np.array_equal(a, b) for a, b in zip(epoch0, again, strict=True))


def test_a_rank_outside_the_world_is_refused():
    with pytest.raises(ConfigError, match="rank 2 of world size 2"):
        Shard(5, rank=2, world_size=2)


def _datamodule(rank: int, world: int, crosslines: int = 16, **kw) -> SurveyDataModule:
    survey = synthetic_dataset(n_inlines=48, n_crosslines=crosslines, n_samples=32)
    ranges = {"train": [0, 16], "val": [24, 29], "test": [37, 44]}  # 5 and 7 sections
    dm = SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                          batch_size=4, splits={"ranges": ranges}, **kw)  # fmt: skip
    dm.trainer = SimpleNamespace(global_rank=rank, world_size=world)
    dm.setup()
    return dm


@pytest.mark.parametrize("mode", ["sections", "traces"])
def test_each_rank_scores_its_own_held_out_sections(mode):
    world = 2
    modules = [_datamodule(rank, world, consumes=mode) for rank in range(world)]
    for split, dataloader in (("val", "val_dataloader"), ("test", "test_dataloader")):
        loaders = [getattr(dm, dataloader)() for dm in modules]
        assert len({len(loader) for loader in loaders}) == 1  # same batch count on each rank
        labelled = sum(
            int((batch["mask"] != IGNORE_INDEX).sum()) for loader in loaders for batch in loader
        )
        region = modules[0].splits[split]
        assert labelled == len(region) * 16 * 32  # every sample once, none twice


@pytest.mark.parametrize("world", [2, 3])
def test_each_test_section_of_each_direction_is_scored_once_over_the_ranks(world):
    """Test sections on inlines (7) and crosslines (15): each direction sharded on its own,
    padded with masked repeats, so each section is scored on exactly one rank."""
    both = ("inline", "crossline")
    modules = [_datamodule(r, world, crosslines=15, test_directions=both) for r in range(world)]
    loaders = [dm.test_dataloader() for dm in modules]
    assert len({len(loader) for loader in loaders}) == 1  # same batch count on each rank
    scored: dict[tuple[int, int], int] = {}
    labelled = 0
    for loader in loaders:
        for batch in loader:
            for kind, section, mask in zip(batch["kind"].tolist(), batch["section"].tolist(),
                                           batch["mask"], strict=True):  # fmt: skip
                n = int((mask != IGNORE_INDEX).sum())
                if n:  # a masked repeat scores nothing
                    scored[kind, section] = scored.get((kind, section), 0) + 1
                labelled += n
    test = modules[0].splits["test"]
    inlines = {(INLINE_SECTION, il): 1 for il in range(test.start, test.stop)}
    crosslines = {(CROSSLINE_SECTION, xl): 1 for xl in range(15)}
    assert scored == {**inlines, **crosslines}
    assert labelled == 2 * len(test) * 15 * 32  # every sample once per direction
    # validation stays inline-only
    val = [dm.val_dataloader() for dm in modules]
    assert {int(k) for loader in val for b in loader for k in b["kind"]} == {INLINE_SECTION}


def test_training_batches_differ_between_ranks():
    world = 2
    firsts = [next(iter(_datamodule(rank, world).train_dataloader())) for rank in range(world)]
    sections = [set(zip(b["kind"].tolist(), b["section"].tolist(), b["lateral"].tolist(),
                        b["sample"].tolist(), strict=True)) for b in firsts]  # fmt: skip
    assert not sections[0] & sections[1]


def test_several_test_sets_are_tagged_in_turn():
    survey = synthetic_dataset(n_inlines=40, n_crosslines=16, n_samples=32)
    tests = {"a": survey.isel(inline=slice(0, 3)), "b": survey.isel(crossline=slice(0, 8))}
    splits = {"fractions": {"train": 0.8, "val": 0.2}}
    dm = SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                          splits=splits, tests=tests)  # fmt: skip
    dm.setup()
    loader = dm.test_dataloader()
    assert isinstance(loader, NamedTestBatches) and dm.test_names == ["a", "b"]
    tags = [batch["test_set"] for batch in loader]
    assert tags == sorted(tags) and set(tags) == {"a", "b"} and len(tags) == len(loader)
    widths = {batch["test_set"]: batch["image"].shape[-1] for batch in dm.test_dataloader()}
    assert widths == {"a": 16, "b": 8}  # each set's own section width


def test_own_test_sets_and_a_test_block_are_exclusive():
    survey = synthetic_dataset(n_inlines=40, n_crosslines=16, n_samples=32)
    with pytest.raises(ConfigError, match=r"fractions\.test=0"):
        SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                         tests={"a": survey.isel(inline=slice(0, 3))})  # fmt: skip
