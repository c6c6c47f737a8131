"""Batches are a pure function of (seed, epoch, rank): runs repeat, and a resumed run
draws what the uninterrupted one would have. (Whole runs repeating to the last bit:
tests/test_training.py::test_the_same_seed_gives_the_same_metrics.)"""

from __future__ import annotations

import pytest
import torch

from facies.data.datamodule import SurveyDataModule
from facies.sources.synthetic import synthetic_dataset

AUGMENT = {"enabled": True, "amplitude_scale": 0.2, "noise": 0.05}


def _epochs(
    mode: str, seed: int = 0, start: int = 0, n: int = 2, n_inlines: int = 32, budget=None
) -> list[list[dict]]:
    survey = synthetic_dataset(n_inlines=n_inlines, n_crosslines=16, n_samples=32)
    dm = SurveyDataModule(
        survey, patch=(16, 16), stride=(16, 16), size_multiple=8, batch_size=32,
        augmentation=AUGMENT, seed=seed, consumes=mode, patches_per_epoch=budget,
    )  # fmt: skip
    dm.setup()
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(start)  # what Lightning does at the start of every epoch
    return [list(loader) for _ in range(n)]


def _same(a: list[dict], b: list[dict]) -> bool:
    key = "image" if "image" in a[0] else "trace"
    return len(a) == len(b) and all(
        torch.equal(x[key], y[key]) and torch.equal(x["mask"], y["mask"])
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("mode", ["sections", "traces"])
def test_the_same_seed_draws_the_same_batches_and_augmentation(mode):
    first, second = _epochs(mode), _epochs(mode)
    assert all(_same(a, b) for a, b in zip(first, second, strict=True))
    assert not _same(first[0], first[1])  # a new order and augmentation every epoch
    assert not _same(first[0], _epochs(mode, seed=1, n=1)[0])


def test_a_resumed_epoch_draws_what_the_uninterrupted_run_drew():
    uninterrupted = _epochs("sections", n=2)
    resumed = _epochs("sections", start=1, n=1)  # a fresh process told "epoch 1"
    assert _same(resumed[0], uninterrupted[1])


@pytest.mark.parametrize("n_inlines", [32, 16])  # 16: crossline patches 8 wide, interleaved
def test_an_epoch_budget_draws_the_same_for_the_same_seed_and_epoch(n_inlines):
    budget = {"n_inlines": n_inlines, "budget": 40}
    first, second = _epochs("sections", **budget), _epochs("sections", **budget)
    assert all(_same(a, b) for a, b in zip(first, second, strict=True))
    assert not _same(first[0], first[1])
    assert _same(_epochs("sections", start=1, n=1, **budget)[0], first[1])  # resumed
    assert sum(len(b["image"]) for b in first[0]) == 40
