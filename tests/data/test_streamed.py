"""Streamed training (data.in_memory=false): the same patches as in memory, bounded
memory, DDP shards, and how ``auto`` chooses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facies.data import regions
from facies.data.datamodule import SurveyDataModule
from facies.data.memory import choose_in_memory
from facies.data.streamed import WINDOW
from facies.data.streamed_datamodule import StreamedSurveyDataModule
from facies.errors import ConfigError, TrainingError
from facies.names import AMPLITUDE, LABELS
from facies.sources.synthetic import synthetic_dataset
from facies.training.inputs import datamodule_for
from tests.helpers import TINY_MODEL, TINY_TRAIN, batch_keys, facies, sparse_store

OPTIONS = {"patch": (16, 16), "stride": (8, 8), "size_multiple": 8, "batch_size": 8, "seed": 3}


@pytest.fixture(autouse=True)
def small_regions(monkeypatch):
    """Regions of a few chunks and slabs of a few sections: small surveys read in many."""
    monkeypatch.setattr(regions, "REGION_BYTES", 24 * 40 * 40 * 6)
    monkeypatch.setattr(regions, "SECTION_SLAB_BYTES", 8 * 50 * 40 * 6)


def small_survey(chunks=(8, 8), **kw):
    """A small synthetic survey whose amplitude says it is stored in ``chunks`` traces."""
    survey = synthetic_dataset(n_inlines=70, n_crosslines=50, n_samples=40, **kw)
    survey[AMPLITUDE].encoding["chunks"] = (*chunks, 40)
    return survey


def both(survey, **kw):
    options = {**OPTIONS, **kw}
    memory, streamed = (
        SurveyDataModule(survey, **options),
        StreamedSurveyDataModule(survey, **options),
    )
    memory.setup()
    streamed.setup()
    return memory, streamed


def patches(batches) -> dict:
    """{(kind, section, lateral, sample): (image, mask)} of every patch of ``batches``."""
    out = {}
    for batch in batches:
        for i in range(len(batch["kind"])):
            key = tuple(int(batch[k][i]) for k in ("kind", "section", "lateral", "sample"))
            out[key] = (batch["image"][i].clone(), batch["mask"][i].clone())
    return out


def test_tables_and_patches_are_those_in_memory():
    # a small training block: inline patches and narrower crossline patches (two groups)
    splits = {"fractions": {"train": 0.2, "val": 0.3, "test": 0.5}}
    memory, streamed = both(small_survey(), splits=splits, augmentation={"enabled": False})
    assert len(streamed.train_groups) == 2
    rows = np.arange(len(streamed.tables["train"]))
    assert len(np.unique(streamed.grid.keys(streamed.tables["train"], rows))) > 4
    for (a, size_a), (b, size_b) in zip(memory.train_groups, streamed.train_groups, strict=True):
        assert size_a == size_b
        for field in a.__dataclass_fields__:
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
    a, b = patches(memory.train_dataloader()), patches(streamed.train_dataloader())
    assert a.keys() == b.keys() and len(a) == len(memory.tables["train"])
    assert all(torch.equal(a[k][0], b[k][0]) and torch.equal(a[k][1], b[k][1]) for k in a)
    assert memory.class_weights() == pytest.approx(streamed.class_weights())


def test_sparse_labels_drop_the_same_patches():
    survey = small_survey()
    labels = survey[LABELS].values.copy()
    labels[:, 10:, :] = 255  # most traces unlabelled
    labels[:, :10, 20:] = 255
    survey[LABELS] = (survey[LABELS].dims, labels)
    survey.attrs["ignore_label"] = 255
    memory, streamed = both(survey)
    sizes = [len(t) for t, _ in memory.train_groups]
    assert sizes == [len(t) for t, _ in streamed.train_groups]
    assert sum(sizes) < len(memory.tables["train"]) + 1  # some were dropped
    for (a, _), (b, _) in zip(memory.train_groups, streamed.train_groups, strict=True):
        assert np.array_equal(a.section, b.section) and np.array_equal(a.lateral, b.lateral)


@pytest.mark.parametrize(("budget", "device"), [(None, "cpu"), (100, "cpu"), (100, "meta")])
def test_every_epoch_draws_the_same_patches(budget, device):
    memory, streamed = both(small_survey(), patches_per_epoch=budget)
    streamed.move_to(device)  # cpu: regions read when needed; a GPU: by a background thread
    assert streamed.reader.ahead == (0 if device == "cpu" else 2)
    loaders = streamed.train_dataloader(), memory.train_dataloader()
    assert len(loaders[0]) == len(loaders[1])
    epochs = []
    for _ in range(2):  # each iteration is the next epoch
        keys = batch_keys(loaders[0])
        assert keys == batch_keys(loaders[1])
        epochs.append(keys)
    if budget:  # a fresh draw each epoch
        assert epochs[0] != epochs[1]


def test_order_is_deterministic_and_shuffled():
    survey = small_survey()
    first, second = (both(survey)[1].train_dataloader() for _ in range(2))

    def order(batches):
        return [tuple(b["section"].tolist() + b["lateral"].tolist()) for b in batches]

    epoch = order(first)
    assert epoch == order(second)  # the same seed: the same order
    assert epoch != order(first)  # the next epoch: another order
    assert epoch != sorted(epoch)


def test_held_out_sections_are_those_in_memory():
    memory, streamed = both(small_survey(), test_directions=("inline", "crossline"))
    assert streamed.held_out["test"].volume.grid.tiles[0][0] < 33  # several slabs
    for name in ("val", "test"):
        a, b = list(memory._batches(name, False)), list(streamed._batches(name, False))
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert all(torch.equal(x[k], y[k]) for k in x)
    held = streamed.held_out["test"]
    assert held.volume.shape == memory.held_out["test"].volume.shape


def test_regions_held_at_once_are_bounded(monkeypatch):
    monkeypatch.setattr(regions, "REGION_BYTES", 1)  # one chunk a tile: many regions
    survey = synthetic_dataset(n_inlines=96, n_crosslines=64, n_samples=32)
    survey[AMPLITUDE].encoding["chunks"] = (4, 4, 32)
    splits = {"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}}
    streamed = StreamedSurveyDataModule(survey, **OPTIONS, splits=splits)
    streamed.setup()
    batches = streamed.train_dataloader()
    keys = streamed.grid.keys(streamed.tables["train"], np.arange(len(streamed.tables["train"])))
    assert len(np.unique(keys)) > 10 * WINDOW
    assert len(batch_keys(batches)) == len(streamed.tables["train"])
    assert 0 < batches.held_max <= 2 * WINDOW + 1


def test_ddp_ranks_read_the_in_memory_shards():
    memory, streamed = both(small_survey(), patches_per_epoch=150)
    shards = []
    for rank in range(3):
        for dm in (memory, streamed):
            dm._shard = lambda rank=rank: (rank, 3)
        keys = batch_keys(streamed.train_dataloader())
        assert keys == batch_keys(memory.train_dataloader())
        shards.append(keys)
    assert sum(len(k) for k in shards) == 150
    assert not (shards[0] & shards[1]) and not (shards[1] & shards[2])


def test_auto_streams_what_would_not_fit(monkeypatch):
    shape = (70, 50, 40)
    needed = 70 * 50 * 40 * 6
    assert choose_in_memory("auto", [shape], 10 * needed)[0] is True
    assert choose_in_memory("auto", [shape], needed)[0] is False
    assert choose_in_memory("auto", [shape], None)[0] is True
    assert choose_in_memory(False, [shape], 10 * needed)[0] is False
    assert choose_in_memory(True, [shape], 1)[0] is True
    with pytest.raises(ConfigError, match="in_memory"):
        choose_in_memory("sometimes", [shape], None)

    import facies.training.inputs as inputs

    survey = small_survey()
    data = {"patch": [16, 16], "stride": [8, 8], "batch_size": 8, "trace_batch_size": 8}
    model = {"name": "unet", "depth": 2, "base_channels": 4}
    monkeypatch.setattr(inputs, "available_bytes", lambda: needed)  # would not fit
    assert isinstance(datamodule_for(survey, data, model, tests={}), StreamedSurveyDataModule)
    monkeypatch.setattr(inputs, "available_bytes", lambda: 100 * needed)
    dm = datamodule_for(survey, data, model, tests={})
    assert type(dm) is SurveyDataModule
    dm = datamodule_for(survey, {**data, "in_memory": False}, model, tests={})
    assert isinstance(dm, StreamedSurveyDataModule)


def test_trace_models_are_not_streamed():
    data = {"patch": [16, 16], "stride": [8, 8], "batch_size": 8, "trace_batch_size": 8}
    with pytest.raises(ConfigError, match="trace model"):
        datamodule_for(small_survey(), {**data, "in_memory": False}, {"name": "lstm"}, tests={})


def test_store_reads_match_memory(tmp_path):
    from facies.io.store import open_survey
    from facies.io.store_layout import open_crossline_sections

    store = sparse_store(tmp_path, shape=(40, 36, 32), inlines=40, crosslines=0)
    survey = open_survey(store)
    assert regions.store_chunks(survey) == tuple(survey[AMPLITUDE].encoding["chunks"][:2])
    memory, streamed = both(survey, augmentation={"enabled": False}, patches_per_epoch=64)
    copy = open_crossline_sections(store)
    if copy is not None:  # crossline patches are read from the store's crossline copy
        source = streamed.reader.sources[1]
        assert source is not survey and source[AMPLITUDE].shape == survey[AMPLITUDE].shape
    a, b = patches(memory.train_dataloader()), patches(streamed.train_dataloader())
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k][0], b[k][0]) and torch.equal(a[k][1], b[k][1]) for k in a)


@pytest.mark.slow
def test_train_streamed_end_to_end(tmp_path):
    run = facies("train", *TINY_TRAIN, *TINY_MODEL, "data.in_memory=false", "trainer=cpu",
                 "trainer.max_epochs=1", cwd=tmp_path, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "streamed from the store" in run.stderr + run.stdout
    assert "miou" in run.stdout.lower() or "run folder:" in run.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_streamed_batches_for_a_gpu_come_in_pinned_memory():
    _, streamed = both(small_survey())
    streamed.move_to("cuda")
    assert streamed.reader.pin and streamed.reader.ahead == 2
    batch = next(iter(streamed.train_dataloader()))
    assert batch["image"].is_pinned() and batch["mask"].is_pinned()
    streamed.move_to("cpu")
    assert not streamed.reader.pin


def test_moving_a_streamed_module_to_a_gpu_needs_no_gpu_memory_check(monkeypatch):
    """Only surveys held in memory are weighed against the GPU's free memory; store
    readers only learn their target (runs without a GPU: nothing is allocated there)."""

    def no_query(device=None):
        raise AssertionError("a streamed survey asked the GPU for its free memory")

    monkeypatch.setattr(torch.cuda, "mem_get_info", no_query)
    _, streamed = both(small_survey())
    streamed.move_to("cuda")
    assert streamed.reader.pin and streamed.reader.ahead == 2


def test_non_finite_amplitudes_are_refused_or_masked_as_in_memory():
    survey = small_survey()
    values = survey[AMPLITUDE].values.copy()
    values[5, 7, 3:9] = np.nan  # one trace of the training block
    survey[AMPLITUDE].values = values
    for module in (SurveyDataModule, StreamedSurveyDataModule):
        with pytest.raises(TrainingError, match="6 NaN or infinite amplitude samples in 1"):
            module(survey, **OPTIONS).setup()
    memory, streamed = both(survey, mask_nonfinite=True)
    got, expected = patches(streamed.train_dataloader()), patches(memory.train_dataloader())
    assert got.keys() == expected.keys()
    for key, (image, mask) in got.items():
        assert torch.isfinite(image).all()
        assert torch.equal(image, expected[key][0]) and torch.equal(mask, expected[key][1])
