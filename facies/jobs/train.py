"""``facies train``: the main job. Trains a model, tests it, writes the run's outputs."""

from __future__ import annotations

import logging
import time

from omegaconf import DictConfig

from facies.runtime import ddp_launch, run_dir
from facies.training.trainer import prepare_training

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """Train, then test the best checkpoint; returns the test metrics."""
    from facies import plots
    from facies.training.evaluation import metrics_text, report

    out = run_dir()
    training = prepare_training(cfg, out)
    trainer, checkpoints = training.trainer, training.checkpoints
    datamodule = training.datamodule
    started = time.perf_counter()
    with ddp_launch(trainer, "train"):
        trainer.fit(training.module, datamodule=datamodule, ckpt_path=cfg.resume)
    seconds = time.perf_counter() - started
    module = training.module
    if checkpoints.best_model_path:
        from facies.training.checkpoint import load_module

        module = load_module(checkpoints.best_model_path)
    if trainer.is_global_zero:
        plots.curves_figure(out / "logs" / "metrics.csv", out / "training_curves.png")
    extra = {
        "train_seconds": seconds,
        "epochs": trainer.current_epoch,
        "parameters": sum(p.numel() for p in module.parameters()),
        "best_checkpoint": checkpoints.best_model_path,
        "splits": {k: [v.start, v.stop] for k, v in datamodule.splits.items()},
    }
    metrics = report(trainer, module, datamodule, out, extra)
    if trainer.is_global_zero:
        print(metrics_text(metrics))
        print(f"run folder: {out}")
    return metrics
