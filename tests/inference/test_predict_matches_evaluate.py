"""The facies SEG-Y that `facies predict` writes scores, on the test block, what `facies
evaluate` reported for the same checkpoint: whole sections, padded as evaluation pads them."""

from __future__ import annotations

import ast
import json
import re

import numpy as np
import segyio
import torch

from facies.training.metrics import confusion_matrix, scores
from tests.helpers import CPU, LEGACY_CHECKPOINTS, TINY_DATA, facies, run_folder

#: The largest difference allowed between the two scores (issue 15).
TOLERANCE = 0.005


def _cube(path) -> np.ndarray:
    with segyio.open(path) as f:  # (inline, crossline, sample), sorted by inline
        return segyio.tools.cube(f)


def _test_block(metrics: dict, log: str) -> tuple[int, int]:
    """The test block's inline indices [start, stop), as evaluate made it (never hard-coded:
    the split rules may change): from metrics.json, or from evaluate's log of its splits."""
    splits = metrics.get("splits")
    if not splits:
        found = re.search(r"splits (\{[^}]*\})", log)
        assert found, log[-3000:]
        splits = ast.literal_eval(found.group(1))
    start, stop = splits["test"]
    return int(start), int(stop)


def test_the_predicted_segy_scores_what_evaluate_reported(tmp_path):
    checkpoint = LEGACY_CHECKPOINTS / "unet.ckpt"
    run = facies("evaluate", f"checkpoint={checkpoint}", *TINY_DATA, *CPU,
                 cwd=tmp_path, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((run_folder(run.stdout) / "metrics.json").read_text())
    start, stop = _test_block(metrics, run.stdout + run.stderr)
    synthetic = tmp_path / "data" / "synthetic"
    output = tmp_path / "facies.sgy"
    seismic = synthetic / "seismic.sgy"
    run = facies("predict", f"checkpoint={checkpoint}", f"input={seismic}", f"output={output}",
                 "figure=false", "device=cpu", cwd=tmp_path, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]

    predicted = _cube(output)[start:stop].astype(np.int64)
    labels = _cube(synthetic / "labels.sgy")[start:stop].astype(np.int64)
    names = metrics["test"]["class_names"]
    labels[(labels < 0) | (labels >= len(names)) | (predicted < 0)] = -1  # not scored
    predicted[predicted < 0] = 0
    confmat = confusion_matrix(torch.from_numpy(predicted), torch.from_numpy(labels),
                               len(names), ignore_index=-1)  # fmt: skip
    ours = scores(confmat, names)
    assert confmat.sum() == np.sum(metrics["confusion_matrix"])  # the same samples scored
    for key in ("pa", "mca", "miou", "fwiu"):
        assert abs(ours[key] - metrics["test"][key]) <= TOLERANCE, (key, ours, metrics["test"])
