"""Test sets scored on inline and crossline sections (the F3 benchmark's protocol): every
labelled test sample once per direction, crossline sections inside the test block only."""

from __future__ import annotations

import numpy as np
import pytest

from facies.data.datamodule import SurveyDataModule
from facies.data.tiling import CROSSLINE_SECTION, INLINE_SECTION
from facies.errors import ConfigError
from facies.names import IGNORE_INDEX
from facies.sources.synthetic import synthetic_dataset
from facies.training.inputs import datamodule_for

RANGES = {"train": [0, 16], "val": [24, 29], "test": [37, 44]}  # a 7-inline test block


def _survey():
    survey = synthetic_dataset(n_inlines=48, n_crosslines=20, n_samples=30)
    survey["live"].values[40, 3] = False  # a dead trace inside the test block
    return survey


def _datamodule(survey, directions, **kw) -> SurveyDataModule:
    dm = SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=8,
                          batch_size=8, splits={"ranges": RANGES},
                          test_directions=directions, **kw)  # fmt: skip
    dm.setup()
    return dm


def test_both_directions_score_every_test_sample_twice(one_thread):
    """The summed matrix: 2 x the labelled test samples, and inline-only + crossline-only."""
    import lightning as L

    from facies.training.module import FaciesModule

    survey = _survey()
    L.seed_everything(0)
    model = {"name": "unet", "depth": 3, "base_channels": 4}
    module = FaciesModule(model, list(survey.attrs["class_names"]))
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    matrices = {}
    for directions in (("inline", "crossline"), ("inline",), ("crossline",)):
        dm = _datamodule(survey, directions)
        trainer.test(module, datamodule=dm, verbose=False)
        matrices[directions] = module.test_confmat.numpy()
    labels = dm.volume.labels[slice(*RANGES["test"])]
    labelled = int((labels != IGNORE_INDEX).sum())
    assert labelled == (7 * 20 - 1) * 30  # the dead trace is not scored
    both = matrices[("inline", "crossline")]
    assert both.sum() == 2 * labelled
    assert matrices[("inline",)].sum() == matrices[("crossline",)].sum() == labelled
    np.testing.assert_array_equal(both, matrices[("inline",)] + matrices[("crossline",)])


def test_crossline_test_sections_hold_test_inlines_only():
    """Labels encode the inline index: a crossline section's columns are the test block's
    inlines in order, then padding; no other split's inline ever appears."""
    survey = _survey()
    nil, nxl, ns = (survey.sizes[d] for d in ("inline", "crossline", "sample"))
    survey["labels"].values[:] = np.arange(nil, dtype=np.int16)[:, None, None]
    dm = _datamodule(survey, ["crossline", "inline"])
    start, stop = RANGES["test"]
    seen: dict[int, set[int]] = {CROSSLINE_SECTION: set(), INLINE_SECTION: set()}
    crosslines = []
    for batch in dm.test_dataloader():
        kind = int(batch["kind"][0])
        assert (batch["kind"] == kind).all()  # directions never share a batch
        mask = batch["mask"]
        seen[kind] |= set(mask[mask != IGNORE_INDEX].unique().tolist())
        if kind == CROSSLINE_SECTION:
            assert tuple(mask.shape[1:]) == (32, 8)  # 30 samples, 7 inlines, padded to 8
            assert (mask[:, :, stop - start :] == IGNORE_INDEX).all()
            assert (mask[:, ns:] == IGNORE_INDEX).all()
            for xl, section in zip(batch["section"].tolist(), mask, strict=True):
                crosslines.append(xl)
                columns = section[:ns, : stop - start]
                expected = np.arange(start, stop)[None, :].repeat(ns, 0)
                if xl == 3:  # the dead trace (inline 40) is unlabelled
                    expected[:, 40 - start] = IGNORE_INDEX
                np.testing.assert_array_equal(columns.numpy(), expected)
    assert seen[CROSSLINE_SECTION] == seen[INLINE_SECTION] == set(range(start, stop))
    assert sorted(crosslines) == list(range(nxl))  # every crossline section once
    # validation stays on inline sections
    assert {int(k) for b in dm.val_dataloader() for k in b["kind"]} == {INLINE_SECTION}


def test_test_directions_come_from_the_data_config():
    survey = _survey()
    data = {"patch": [16, 16], "stride": [16, 16], "batch_size": 8, "trace_batch_size": 64,
            "splits": {"ranges": RANGES}}  # fmt: skip
    model = {"name": "unet", "depth": 3}
    assert datamodule_for(survey, data, model, tests={}).test_directions == ("inline",)
    data["test_directions"] = ["inline", "crossline"]
    dm = datamodule_for(survey, data, model, tests={})
    assert dm.test_directions == ("inline", "crossline")
    data["test_directions"] = "crossline"
    assert datamodule_for(survey, data, model, tests={}).test_directions == ("crossline",)


@pytest.mark.parametrize("directions", [[], ["inline", "inline"], ["timeslice"]])
def test_bad_test_directions_say_what_to_give(directions):
    with pytest.raises(ConfigError, match=r"data.test_directions=.*inline and/or crossline"):
        SurveyDataModule(_survey(), patch=(16, 16), stride=(16, 16), size_multiple=8,
                         splits={"ranges": RANGES}, test_directions=directions)  # fmt: skip


def test_a_trace_model_scores_each_test_trace_once_whatever_the_directions():
    survey = _survey()
    counts = {}
    for directions in (("inline",), ("inline", "crossline")):
        dm = _datamodule(survey, directions, consumes="traces")
        counts[directions] = sum(int((b["mask"] != IGNORE_INDEX).sum())
                                 for b in dm.test_dataloader())  # fmt: skip
    # a trace has no direction: scoring it per direction would repeat identical work
    assert counts[("inline", "crossline")] == counts[("inline",)] == (7 * 20 - 1) * 30
