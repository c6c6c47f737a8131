"""Small surveys train out of the box and no survey wastes its labels: train | gap | val |
test with a gap that grows slowly with the survey, crossline patches that fit the training
block, errors that name the numbers, a refused stride, an epoch budget and an ETA."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import numpy as np
import pytest

from facies.data.datamodule import SurveyDataModule
from facies.data.sharding import Shard
from facies.data.splits import auto_gap, make_splits
from facies.data.tiling import CROSSLINE_SECTION
from facies.errors import ConfigError
from facies.jobs.validate import problems
from facies.sources.synthetic import synthetic_dataset
from facies.training.eta import TrainingETA, duration
from tests.helpers import batch_keys, facies, one_line_error, survey_module

#: inlines -> (gap, train, val, test) of the default split (0.7/0.1/0.2, patch width 64)
LAYOUTS = {
    16: (2, (0, 10), (12, 13), (13, 16)),
    36: (3, (0, 23), (26, 29), (29, 36)),
    96: (5, (0, 64), (69, 78), (78, 96)),
    128: (6, (0, 86), (92, 104), (104, 128)),
}


@pytest.mark.parametrize("n", sorted(LAYOUTS))
def test_most_labelled_inlines_train(n):
    gap, train, val, test = LAYOUTS[n]
    assert auto_gap(n, 64) == gap <= 32  # a few inlines, never more than half a patch
    splits = make_splits(n, gap=gap, patch_width=64)
    assert {k: (v.start, v.stop) for k, v in splits.items()} == {
        "train": train, "val": val, "test": test,
    }  # fmt: skip
    assert len(splits["train"]) / n >= 0.6  # the old layout trained 22 of 96, 44 of 128
    assert splits["val"].start - splits["train"].stop == gap  # the gap: train | held out
    assert splits["test"].start == splits["val"].stop  # val and test adjacent
    assert splits["test"].stop == n  # no inline lost to rounding


def test_the_gap_grows_slowly_and_stays_under_half_a_patch():
    gaps = [auto_gap(n, 64) for n in (1, 4, 16, 36, 100, 400, 1000, 10_000)]
    assert gaps == [1, 1, 2, 3, 5, 10, 16, 32]
    assert auto_gap(10_000, 16) == 8 and auto_gap(40, 16) == 4


def test_the_data_module_uses_the_auto_gap_or_the_one_given():
    dm = SurveyDataModule(synthetic_dataset(n_inlines=36, n_crosslines=8, n_samples=32),
                          patch=(16, 16), stride=(16, 16), size_multiple=8)  # fmt: skip
    assert dm.gap == 3 and dm.splits["val"].start == dm.splits["train"].stop + 3
    dm = SurveyDataModule(dm.survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                          splits={"gap": 0})  # fmt: skip
    assert dm.gap == 0 and dm.splits["val"].start == dm.splits["train"].stop


@pytest.mark.parametrize(("n", "width"), [(16, 8), (36, 16), (96, 64), (128, 64)])
def test_no_training_crossline_patch_reaches_past_the_training_block(n, width):
    dm = survey_module(n)
    train = dm.splits["train"]
    sizes = [size for _, size in dm.train_groups]
    assert sizes == ([(64, 64)] if width == 64 else [(64, 64), (64, width)])
    for table, (_, w) in dm.train_groups:
        cross = table.kind == CROSSLINE_SECTION
        if not cross.any():
            continue
        assert w == width and w % 8 == 0
        assert (table.lateral[cross] >= train.start).all()
        assert (table.lateral[cross] + w <= train.stop).all()  # inside, no padding
        rows = np.flatnonzero(cross)
        batch = dm.volume.cut(table, rows, (64, w))
        assert (batch["mask"][:, : dm.survey.sizes["sample"]] != dm.volume.ignore_index).all()
    for batch in dm.train_dataloader():  # a batch holds patches of one size
        assert batch["image"].shape[-1] in (64, width)
        if batch["image"].shape[-1] == width and width < 64:
            assert (batch["kind"] == CROSSLINE_SECTION).all()


def test_a_block_too_narrow_for_any_crossline_patch_trains_on_inline_patches(caplog):
    survey = synthetic_dataset(n_inlines=12, n_crosslines=16, n_samples=64)
    with caplog.at_level(logging.WARNING):
        dm = SurveyDataModule(survey, patch=(64, 64), stride=(32, 32), size_multiple=16)
        dm.setup()
    assert len(dm.splits["train"]) < 16 and [s for _, s in dm.train_groups] == [(64, 64)]
    assert "no crossline patch fits" in caplog.text
    only_crossline = SurveyDataModule(survey, patch=(64, 64), stride=(32, 32), size_multiple=16,
                                      directions=("crossline",))  # fmt: skip
    with pytest.raises(ConfigError, match=r"training block has \d+ inlines.*data.directions"):
        only_crossline.setup()


def test_an_impossible_split_names_the_numbers_and_the_setting():
    with pytest.raises(ConfigError) as info:
        make_splits(4, gap=2, patch_width=64)
    text = str(info.value)
    for words in ("4 inlines", "gap of 2 inlines", "data.patch width 64", "data.splits.gap=1",
                  "data.splits.fractions"):  # fmt: skip
        assert words in text, text
    with pytest.raises(ConfigError, match=r"1 inlines apart.*at least 3 apart.*data.splits.gap"):
        make_splits(40, ranges={"train": [0, 20], "val": [21, 30]}, gap=3)
    # val and test may touch; they must not overlap
    make_splits(40, ranges={"train": [0, 20], "val": [23, 30], "test": [30, 40]}, gap=3)
    with pytest.raises(ConfigError, match="must be disjoint"):
        make_splits(40, ranges={"train": [0, 20], "val": [23, 31], "test": [30, 40]}, gap=3)


def test_an_impossible_split_is_one_line_on_the_command_line(tmp_path):
    run = facies("train", "data.synthetic.n_inlines=8", "data.synthetic.n_crosslines=8",
                 "data.synthetic.n_samples=32", "data.patch=[16,16]", "data.stride=[16,16]",
                 "data.splits.gap=7", "model.depth=2", "trainer=cpu", cwd=tmp_path,
                 timeout=300)  # fmt: skip
    assert run.returncode != 0
    # Lightning's "Seed set to 0" comes before the data are split (prepare_training)
    stderr = "\n".join(x for x in run.stderr.splitlines() if not x.startswith("INFO: Seed set"))
    line = one_line_error(stderr, "train")
    assert "8 inlines" in line and "gap of 7" in line and "data.splits.gap=5" in line, line


def test_a_stride_larger_than_the_patch_is_refused():
    survey = synthetic_dataset(n_inlines=16, n_crosslines=8, n_samples=32)
    with pytest.raises(ConfigError, match=r"stride in traces \(32\) must lie in 1..16"):
        SurveyDataModule(survey, patch=(16, 16), stride=(16, 32), size_multiple=8)
    with pytest.raises(ConfigError, match=r"stride in samples \(24\)"):
        SurveyDataModule(survey, patch=(16, 16), stride=(24, 16), size_multiple=8)
    cfg = {"data": {"patch": [64, 64], "stride": [32, 96]}}
    assert any("data.stride=[32,96]: must not exceed data.patch=[64,64]" in p
               for p in problems("train", cfg))  # fmt: skip
    assert not problems("train", {"data": {"patch": [64, 64], "stride": [64, 64]}})


def _epoch(dm, epoch: int) -> list[dict]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return list(loader)


@pytest.mark.parametrize("n", [36, 96])
def test_an_epoch_is_a_budget_of_patches_drawn_afresh(n):
    dm = survey_module(n, batch_size=16, patches_per_epoch=30)
    everything = len(dm.tables["train"])
    assert everything > 30
    first, second = _epoch(dm, 0), _epoch(dm, 1)
    # one size of patch (96 inlines), or two interleaved (36: crossline patches 16 wide)
    groups = len(dm.train_groups)
    assert len(dm.train_dataloader()) == len(first) <= math.ceil(30 / 16) + groups - 1
    assert sum(len(b["image"]) for b in first) == 30
    assert batch_keys(first) != batch_keys(second)  # different patches each epoch
    same = survey_module(n, batch_size=16, patches_per_epoch=30)
    assert batch_keys(_epoch(same, 0)) == batch_keys(first)  # same for the same seed
    other = survey_module(n, batch_size=16, patches_per_epoch=30, seed=1)
    assert batch_keys(_epoch(other, 0)) != batch_keys(first)
    whole = survey_module(n, batch_size=16, patches_per_epoch="all")
    assert sum(len(b["image"]) for b in _epoch(whole, 0)) == everything


def test_a_budget_is_sharded_over_ranks_like_a_whole_epoch():
    shards = [Shard(1000, rank, 3, shuffle=True, seed=5, draw=100).rows(2)[0] for rank in range(3)]
    assert {len(rows) for rows in shards} == {34}  # ceil(100 / 3), every rank the same
    drawn = np.concatenate(shards)
    assert len(set(drawn.tolist())) == 100  # 100 distinct rows, 2 repeated to even out
    later = Shard(1000, 0, 3, shuffle=True, seed=5, draw=100).rows(3)[0]
    assert set(later.tolist()) != set(shards[0].tolist())
    assert Shard(10, 0, 1, draw=3).rows()[0].tolist() == list(range(10))  # evaluation: all


def test_a_bad_budget_is_refused():
    survey = synthetic_dataset(n_inlines=16, n_crosslines=8, n_samples=32)
    with pytest.raises(ConfigError, match=r"data\.patches_per_epoch=0"):
        SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                         patches_per_epoch=0)  # fmt: skip
    splits = {"gap": "auto", "fractions": {"train": 0.7, "val": 0.3}}
    good = {"data": {"patches_per_epoch": "all", "splits": splits}}
    assert problems("train", good) == []
    found = problems("train", {"data": {"patches_per_epoch": -1, "splits": {"gap": "wide"}}})
    assert any(p.startswith("data.patches_per_epoch=-1") for p in found)
    assert any(p.startswith("data.splits.gap=wide") for p in found)


def _trainer(**kw) -> SimpleNamespace:
    base = dict(max_epochs=12, num_training_batches=128, max_steps=-1, is_global_zero=True,
                current_epoch=0, sanity_checking=False)  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def test_the_eta_is_logged_after_the_first_few_steps(caplog, monkeypatch):
    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr("facies.training.eta.time.perf_counter", lambda: next(clock))
    eta, trainer = TrainingETA(after=3), _trainer()
    with caplog.at_level(logging.INFO, logger="facies.training.eta"):
        eta.on_train_epoch_start(trainer, None)  # t = 0
        for step in range(5):  # steps end at t = 1, 2, 3, 4, 5: 1 s a step
            eta.on_train_batch_end(trainer, None, None, None, step)
    lines = [r.getMessage() for r in caplog.records if "ETA" in r.getMessage()]
    assert len(lines) == 1, lines  # once, after 3 timed steps (the first is not timed)
    assert "12 epochs x 128 steps" in lines[0] and "1.00 s a step" in lines[0]
    assert eta.estimates == [12 * 128 - 4]
    assert f"about {duration(12 * 128 - 4)}" in lines[0]
    with caplog.at_level(logging.INFO, logger="facies.training.eta"):
        eta.on_train_epoch_end(trainer, None)  # t = 5: the first epoch took 5 s
    assert "ETA: about 55 s for the 11 epochs left" in caplog.text


def test_no_eta_without_an_epoch_limit(caplog):
    eta, trainer = TrainingETA(after=1), _trainer(max_epochs=-1)
    with caplog.at_level(logging.INFO, logger="facies.training.eta"):
        for step in range(4):
            eta.on_train_batch_end(trainer, None, None, None, step)
    assert "ETA" not in caplog.text and duration(7300) == "2 h 01 min"


def test_training_registers_the_eta(tmp_path):
    from facies.training.trainer import prepare_training, train_config
    from tests.helpers import CPU, TINY_TRAIN

    cfg = train_config([*TINY_TRAIN, *CPU])
    survey = synthetic_dataset(n_inlines=16, n_crosslines=16, n_samples=32)
    run = prepare_training(cfg, tmp_path, survey=survey)
    assert any(isinstance(c, TrainingETA) for c in run.trainer.callbacks)
    assert run.datamodule.patches_per_epoch == cfg.data.patches_per_epoch == 2048
