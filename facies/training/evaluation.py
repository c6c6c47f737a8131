"""Test a trained module on the held-out split(s) and write its numbers and figures."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch

from facies import plots
from facies.data.datamodule import SurveyDataModule
from facies.data.traces import cut_traces
from facies.errors import ConfigError
from facies.models import model_entry
from facies.names import IGNORE_INDEX, TRACES
from facies.training.metrics import json_ready, scores_table
from facies.training.module import FaciesModule

log = logging.getLogger(__name__)


def report(
    trainer: L.Trainer,
    module: FaciesModule,
    datamodule: SurveyDataModule,
    run_dir: Path,
    extra: dict | None = None,
) -> dict:
    """Run the test split(s), then write metrics.json, the confusion matrix and a section.

    With several test sets (F3: ``test1``, ``test2``), ``test`` holds the score of
    their summed confusion matrix (the benchmark's "both") and each set has its own
    entry. Under DDP every rank tests its shard; only rank 0 writes.
    """
    trainer.test(module, datamodule=datamodule, verbose=False)
    result = module.test_scores
    if result is None:
        raise ConfigError(
            "the test split holds no labelled sample; check the labels and data.splits."
        )
    names = list(module.hparams.class_names)
    sets = {name: r for name, r in module.test_results.items() if name != "test"}
    metrics = {"test": result, **sets, "confusion_matrix": module.test_confmat.tolist()}
    if sets:
        metrics["confusion_matrices"] = {
            name: module.test_confmats[name].tolist() for name in module.test_confmats
        }
    metrics.update(extra or {})
    if not trainer.is_global_zero:
        return metrics
    (run_dir / "metrics.json").write_text(json.dumps(json_ready(metrics), indent=2) + "\n")
    plots.confusion_figure(module.test_confmat.numpy(), names, run_dir / "confusion_matrix.png")
    _section(module, datamodule, run_dir / "test_section.png")
    if model_entry(module.hparams["model"]).gates:
        _gates(module, datamodule, run_dir / "gates.png")
    log.info("test metrics written to %s", run_dir / "metrics.json")
    return metrics


def metrics_text(metrics: dict) -> str:
    """The score tables of :func:`report`'s metrics, for a job to print: each named test
    set (F3: ``test1``, ``test2``), then the whole test."""
    sets = {k: v for k, v in metrics.items() if isinstance(v, dict) and "miou" in v and k != "test"}
    parts = [f"{name}:\n{scores_table(scores)}\n" for name, scores in sets.items()]
    parts.append(f"{'test (all test sets)' if sets else 'test'}:\n{scores_table(metrics['test'])}")
    return "\n".join(parts)


def _first_test_set(datamodule: SurveyDataModule, name: str | None) -> tuple[str, object]:
    names = datamodule.test_names
    name = name or (names[0] if names else "test")
    if name not in datamodule.held_out:
        raise ConfigError(f"no test set {name!r}; the data module has {names}.")
    return name, datamodule.held_out[name]


@torch.no_grad()
def test_section(
    module: FaciesModule, datamodule: SurveyDataModule, name: str | None = None
) -> dict:
    """The middle inline of a test set (default the first): seismic, truth and prediction
    (samples x traces), -1 unlabelled."""
    name, held = _first_test_set(datamodule, name)
    split, volume = held.region, held.volume
    row = np.array([len(split) // 2])
    batch = volume.cut(held.table, row, held.section_size)
    mask = batch["mask"][0].cpu().numpy()
    _, nxl, ns = volume.shape
    module.eval()
    if datamodule.consumes == TRACES:  # one trace at a time, as a trace model sees them
        il = np.full(nxl, split.start + len(split) // 2)
        traces = cut_traces(volume, il, np.arange(nxl), split, datamodule.neighbourhood)
        predicted = module(traces["trace"].to(module.device)).argmax(1).T.cpu().numpy()
        predicted = np.pad(predicted, ((0, mask.shape[0] - ns), (0, mask.shape[1] - nxl)))
    else:
        predicted = module(batch["image"].to(module.device)).argmax(1)[0].cpu().numpy()
    unlabelled = mask[:ns, :nxl] == IGNORE_INDEX
    return {
        "inline": int(held.inlines[split.start + len(split) // 2]),
        "test_set": name,
        "title": _title(held, split.start + len(split) // 2),
        "seismic": batch["image"][0, 0, :ns, :nxl].cpu().numpy(),
        "truth": np.where(unlabelled, -1, mask[:ns, :nxl]),
        "prediction": np.where(unlabelled, -1, predicted[:ns, :nxl]),
        "axes": _axes(datamodule, name, held),
    }


def _axes(datamodule: SurveyDataModule, name: str, held) -> plots.SectionAxes:
    """Crossline numbers (an inline section of the volume layout; trace positions along a
    stacked section) across, time or depth down."""
    survey = datamodule.tests.get(name, datamodule.survey)
    axes = plots.SectionAxes.of(survey, "inline")
    if getattr(held, "titles", None):  # a stack of labelled sections: positions along it
        width = held.volume.shape[1]
        return plots.SectionAxes("trace along the section", np.arange(width),
                                 axes.vertical_label, axes.vertical)  # fmt: skip
    return axes


def _title(held, row: int) -> str:
    """A held-out stack row's name (sections layout), else its inline number."""
    titles = getattr(held, "titles", None)
    return titles[row] if titles else f"inline {int(held.inlines[row])}"


def _section(module: FaciesModule, datamodule: SurveyDataModule, path: Path) -> None:
    """The middle inline of the first test set as seismic | truth | prediction."""
    section = test_section(module, datamodule)
    where = "" if section["test_set"] == "test" else f"{section['test_set']} "
    plots.section_figure(
        section["seismic"],
        {"truth": section["truth"], "prediction": section["prediction"]},
        list(module.hparams.class_names),
        f"{where}test {section['title']}",
        path,
        section["axes"],
    )


def _gates(module: FaciesModule, datamodule: SurveyDataModule, path: Path) -> None:
    """Gate activations of the LSTM along the middle trace of the middle test inline."""
    from facies.studies.gates import gates_figure, record_gates

    name, held = _first_test_set(datamodule, None)
    split = held.region
    il = np.array([split.start + len(split) // 2])
    xl = np.array([held.volume.shape[1] // 2])
    batch = cut_traces(held.volume, il, xl, split, datamodule.neighbourhood)
    trace = batch["trace"][0].to(module.device)
    gates = record_gates(module.net, trace)
    centre = trace.shape[0] // 2
    truth = batch["mask"][0].cpu().numpy()
    axes = _axes(datamodule, name, held)
    gates_figure(trace[centre].cpu().numpy(), gates, list(module.hparams.class_names), path,
                 np.where(truth == IGNORE_INDEX, -1, truth),
                 (axes.vertical_label, axes.vertical))  # fmt: skip
