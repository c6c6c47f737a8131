"""``facies compare runs=[run_a,run_b]``: models side by side on the same test split.

``runs`` lists training run folders, or a multirun folder (every run inside it).
Writes ``compare.md``, ``compare.csv`` and ``compare.png`` (one test section: truth and
each model) into this job's run folder.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError

log = logging.getLogger(__name__)


def find_runs(spec) -> list[Path]:
    """Training run folders (holding metrics.json) named by ``spec``."""
    paths = [spec] if isinstance(spec, str) else list(spec or [])
    runs: list[Path] = []
    for path in map(Path, paths):
        found = (
            [path]
            if (path / "metrics.json").exists()
            else sorted(p.parent for p in path.rglob("metrics.json"))
        )
        if not found:
            raise ConfigError(f"{path} holds no training run (no metrics.json); check runs=...")
        runs += found
    if len(runs) < 1:
        raise ConfigError("facies compare needs runs=[<run folder>, ...] or a multirun folder.")
    return runs


def run(cfg: DictConfig) -> list[dict]:
    """Tabulate the runs' test metrics, time their inference, draw one section each."""
    import torch

    from facies import plots
    from facies.names import IGNORE_INDEX, TRACES
    from facies.runtime import run_dir
    from facies.sources.survey import load_survey
    from facies.training.checkpoint import load_module
    from facies.training.evaluation import test_section
    from facies.training.inputs import datamodule_for

    out = run_dir()
    rows, panels, section = [], {}, None
    spec = cfg.runs
    spec = OmegaConf.to_container(spec, resolve=True) if OmegaConf.is_config(spec) else spec
    for folder in find_runs(spec):
        metrics = json.loads((folder / "metrics.json").read_text())
        run_cfg = OmegaConf.load(folder / ".hydra" / "config.yaml")
        module = load_module(metrics["best_checkpoint"])
        survey = load_survey(run_cfg.data, segy=run_cfg.get("segy"))
        hp = module.hparams
        data = OmegaConf.to_container(run_cfg.data, resolve=True)
        dm = datamodule_for(survey, data, dict(hp["model"]), 0, dict(hp["norm_stats"]),
                            tuple(hp["patch"]))  # fmt: skip
        dm.setup("test")
        started, traces = time.perf_counter(), 0
        with torch.no_grad():
            for batch in dm.test_dataloader():
                module(module.inputs(batch))
                mask = batch["mask"]  # traces: (B, samples); sections: (B, samples, traces)
                if dm.consumes == TRACES:
                    traces += mask.shape[0]
                else:  # traces of the section that hold a labelled sample, either direction
                    traces += int((mask != IGNORE_INDEX).any(dim=1).sum())
        seconds = time.perf_counter() - started
        name = f"{hp['model']['name']} ({folder.name})"
        test = metrics["test"]
        rows.append({
            "model": name,
            "pa": test["pa"], "mca": test["mca"], "fwiu": test["fwiu"], "miou": test["miou"],
            **{f"iou_{c}": v for c, v in zip(test["class_names"], test["iou"], strict=True)},
            "parameters": metrics["parameters"],
            "train_seconds": round(metrics["train_seconds"], 1),
            "inference_traces_per_s": round(traces / seconds, 1),
        })  # fmt: skip
        result = test_section(module, dm)
        section = section or result
        panels[name] = result["prediction"]
    _write_tables(rows, out)
    names = list(hp["class_names"])
    plots.section_figure(section["seismic"], {"truth": section["truth"], **panels}, names,
                         f"test {section['title']}", out / "compare.png",
                         section["axes"])  # fmt: skip
    print((out / "compare.md").read_text())
    print(f"run folder: {out}")
    return rows


def _write_tables(rows: list[dict], out: Path) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with (out / "compare.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)

    def fmt(value) -> str:
        return f"{value:.4f}" if isinstance(value, float) and abs(value) <= 1 else str(value)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(row.get(k, "")) for k in keys) + " |" for row in rows]
    (out / "compare.md").write_text("\n".join(lines) + "\n")
