"""Test a trained module on the held-out split and write its numbers and figures."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import lightning as L
import numpy as np
import torch

from facies import plots
from facies.data.datamodule import IGNORE_INDEX, SurveyDataModule
from facies.data.traces import cut_traces
from facies.metrics import scores_table
from facies.module import FaciesModule

log = logging.getLogger(__name__)


def _json_safe(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def report(
    trainer: L.Trainer,
    module: FaciesModule,
    datamodule: SurveyDataModule,
    run_dir: Path,
    extra: dict | None = None,
) -> dict:
    """Run the test split, then write metrics.json, the confusion matrix and a section."""
    trainer.test(module, datamodule=datamodule, verbose=False)
    result = module.test_scores
    if result is None:
        raise RuntimeError("the test split holds no labelled sample")
    names = list(module.hparams.class_names)
    metrics = {"test": result, "confusion_matrix": module.test_confmat.tolist(), **(extra or {})}
    (run_dir / "metrics.json").write_text(json.dumps(_json_safe(metrics), indent=2) + "\n")
    plots.confusion_figure(module.test_confmat.numpy(), names, run_dir / "confusion_matrix.png")
    _section(module, datamodule, run_dir / "test_section.png")
    if datamodule.mode == "traces":
        _gates(module, datamodule, run_dir / "gates.png")
    log.info("test metrics written to %s", run_dir / "metrics.json")
    print(scores_table(result))
    return metrics


@torch.no_grad()
def test_section(module: FaciesModule, datamodule: SurveyDataModule) -> dict:
    """The middle test inline: seismic, truth and prediction (samples x traces), -1 unlabelled."""
    split = datamodule.splits["test"]
    table = datamodule.tables["test"]
    row = np.array([len(split) // 2])
    batch = datamodule.volume.cut(table, row, datamodule.section_size)
    mask = batch["mask"][0].cpu().numpy()
    _, nxl, ns = datamodule.volume.shape
    module.eval()
    if datamodule.mode == "traces":  # one trace at a time, as the LSTM sees them
        il = np.full(nxl, split.start + len(split) // 2)
        traces = cut_traces(datamodule.volume, il, np.arange(nxl), split, datamodule.neighbourhood)
        predicted = module(traces["trace"].to(module.device)).argmax(1).T.cpu().numpy()
        predicted = np.pad(predicted, ((0, mask.shape[0] - ns), (0, mask.shape[1] - nxl)))
    else:
        predicted = module(batch["image"].to(module.device)).argmax(1)[0].cpu().numpy()
    unlabelled = mask[:ns, :nxl] == IGNORE_INDEX
    return {
        "inline": int(datamodule.survey["inline"].values[split.start + len(split) // 2]),
        "seismic": batch["image"][0, 0, :ns, :nxl].cpu().numpy(),
        "truth": np.where(unlabelled, -1, mask[:ns, :nxl]),
        "prediction": np.where(unlabelled, -1, predicted[:ns, :nxl]),
    }


def _section(module: FaciesModule, datamodule: SurveyDataModule, path: Path) -> None:
    """The middle test inline as seismic | truth | prediction."""
    section = test_section(module, datamodule)
    plots.section_figure(
        section["seismic"],
        {"truth": section["truth"], "prediction": section["prediction"]},
        list(module.hparams.class_names),
        f"test inline {section['inline']}",
        path,
    )


def _gates(module: FaciesModule, datamodule: SurveyDataModule, path: Path) -> None:
    """Gate activations of the LSTM along the middle trace of the middle test inline."""
    from facies.gates import gates_figure, record_gates

    split = datamodule.splits["test"]
    il = np.array([split.start + len(split) // 2])
    xl = np.array([datamodule.volume.shape[1] // 2])
    batch = cut_traces(datamodule.volume, il, xl, split, datamodule.neighbourhood)
    trace = batch["trace"][0].to(module.device)
    gates = record_gates(module.net, trace)
    centre = trace.shape[0] // 2
    truth = batch["mask"][0].cpu().numpy()
    gates_figure(trace[centre].cpu().numpy(), gates, list(module.hparams.class_names), path,
                 np.where(truth == IGNORE_INDEX, -1, truth))  # fmt: skip
