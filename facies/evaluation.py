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
    log.info("test metrics written to %s", run_dir / "metrics.json")
    print(scores_table(result))
    return metrics


@torch.no_grad()
def _section(module: FaciesModule, datamodule: SurveyDataModule, path: Path) -> None:
    """The middle test inline as seismic | truth | prediction."""
    split = datamodule.splits["test"]
    table = datamodule.tables["test"]
    row = np.array([len(split) // 2])
    batch = datamodule.volume.cut(table, row, datamodule.section_size)
    image = batch["image"].to(module.device)
    predicted = module(image).argmax(1)[0].cpu().numpy()
    mask = batch["mask"][0].cpu().numpy()
    _, nxl, ns = datamodule.volume.shape
    predicted = np.where(mask[:ns, :nxl] == IGNORE_INDEX, -1, predicted[:ns, :nxl])
    truth = np.where(mask[:ns, :nxl] == IGNORE_INDEX, -1, mask[:ns, :nxl])
    inline = int(datamodule.survey["inline"].values[split.start + len(split) // 2])
    plots.section_figure(
        batch["image"][0, 0, :ns, :nxl].cpu().numpy(),
        {"truth": truth, "prediction": predicted},
        list(module.hparams.class_names),
        f"test inline {inline}",
        path,
    )
