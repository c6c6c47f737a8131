"""Checkpoints written by facies 0.1 (before the package layout changed) still load,
evaluate to the same confusion matrix, and predict the same classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import segyio

from facies.names import SECTIONS, TRACES
from facies.training.checkpoint import load_module, load_network
from tests.helpers import CPU, LEGACY_CHECKPOINTS, TINY_DATA, facies, run_folder

EXPECTED = json.loads((LEGACY_CHECKPOINTS / "expected.json").read_text())


@pytest.mark.parametrize(("name", "consumes"), [("unet", SECTIONS), ("lstm", TRACES)])
def test_a_legacy_checkpoint_loads_safely(name, consumes):
    net, hparams = load_network(LEGACY_CHECKPOINTS / f"{name}.ckpt")
    assert hparams["model"]["name"] == name and net.consumes == consumes
    module = load_module(LEGACY_CHECKPOINTS / f"{name}.ckpt")
    assert list(module.hparams.class_names) == list(hparams["class_names"])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder where the tiny synthetic survey of the fixtures is made once."""
    return tmp_path_factory.mktemp("legacy")


def _ranges(splits: dict[str, list[int]]) -> str:
    """``data.splits.ranges=`` of the recorded splits, as on the command line."""
    inner = ",".join(f"{name}:[{start},{stop}]" for name, (start, stop) in splits.items())
    return f"data.splits.ranges={{{inner}}}"


@pytest.mark.parametrize("name", ["unet", "lstm"])
def test_a_legacy_checkpoint_evaluates_to_the_same_confusion_matrix(workdir, name):
    # the numbers were recorded under facies 0.1's split layout (train | gap | val | gap |
    # test, gaps of half a patch): score the same test inlines, given as explicit ranges
    recorded = EXPECTED[name]["splits"]
    assert recorded == {"train": [0, 16], "val": [24, 26], "test": [34, 38]}
    run = facies(
        "evaluate", f"checkpoint={LEGACY_CHECKPOINTS / f'{name}.ckpt'}", *TINY_DATA, *CPU,
        _ranges(recorded), cwd=workdir, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((run_folder(run.stdout) / "metrics.json").read_text())
    assert metrics["confusion_matrix"] == EXPECTED[name]["confusion_matrix"]
    assert metrics["test"]["miou"] == pytest.approx(EXPECTED[name]["test"]["miou"], abs=1e-9)


def test_a_legacy_checkpoint_predicts_the_same_classes(workdir):
    seismic = workdir / "data" / "synthetic" / "seismic.sgy"
    if not seismic.exists():  # made by the evaluate tests; make it when run alone
        made = facies("synth", "n_inlines=40", "n_crosslines=24", "n_samples=32",
                      "figure=false", cwd=workdir)  # fmt: skip
        assert made.returncode == 0, made.stderr[-3000:]
    output = workdir / "facies.sgy"
    run = facies(
        "predict", f"checkpoint={LEGACY_CHECKPOINTS / 'unet.ckpt'}", f"input={seismic}",
        f"output={output}", "figure=false", "device=cpu", "mode=windows",  # as 0.1 did
        cwd=workdir, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    with segyio.open(output, ignore_geometry=True) as f:
        predicted = np.stack([f.trace[i] for i in range(f.tracecount)])
    expected = np.load(LEGACY_CHECKPOINTS / "unet_prediction.npy")
    np.testing.assert_array_equal(predicted.astype(np.uint8), expected)
