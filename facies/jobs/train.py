"""``facies train``: the main job. Trains a model, tests it, writes the run's outputs."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig

from facies.runtime import ddp_launch, interruptible, run_dir
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
    # SIGTERM stops at the end of a batch; last.ckpt is the end of the last whole epoch
    with ddp_launch(trainer, "train"), interruptible(lambda: _resume_hint(checkpoints), True):
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


def _resume_hint(checkpoints) -> str:
    """What an interrupted training run kept, and how to go on from it."""
    last = Path(checkpoints.dirpath) / "last.ckpt"
    if last.is_file():
        return (
            f"the last checkpoint (end of the last whole epoch) is {last}; go on with resume={last}"
        )
    return "no epoch was finished, so no checkpoint was written"
