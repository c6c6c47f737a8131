"""``facies train``: the main job. Trains a model, tests it, writes the run's outputs."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from facies.errors import ConfigError
from facies.training import prepare_training

log = logging.getLogger(__name__)

#: Hydra overrides that Lightning's launcher sets itself for ranks 1.. (or we leave out).
_LAUNCHER_KEYS = ("hydra.run.dir", "hydra.job.name", "hydra.output_subdir", "hydra.mode")


def run_dir() -> Path:
    """This run's folder (Hydra's output directory)."""
    return Path(HydraConfig.get().runtime.output_dir)


def _rerunnable_script() -> str:
    """``sys.argv[0]`` for a command line that re-runs ``facies``, as Lightning builds it:
    ``python <argv[0]> <argv[1:]>``, or ``python -m <__main__'s module> <argv[1:]>``."""
    import __main__
    from facies import cli

    spec = getattr(__main__, "__spec__", None)
    if spec is not None and spec.name in ("facies.cli", "facies", "facies.__main__"):
        return sys.argv[0]  # Lightning runs `python -m facies.cli ...`
    script = getattr(__main__, "__file__", None)
    if spec is None and script and getattr(__main__, "main", None) is cli.main:
        return os.path.abspath(script)  # the `facies` console script
    raise ConfigError(
        "trainer=ddp starts one process per device by re-running the command, and this "
        "process was not started by the facies command; run `facies <job> trainer=ddp ...` "
        "(or `python -m facies.cli <job> ...`) from a shell, or start the processes "
        "yourself (torchrun, SLURM)."
    )


def _starts_processes(trainer: Any) -> bool:
    """Whether Lightning will start this node's other processes by re-running the command."""
    try:
        from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
    except ImportError:  # another Lightning: leave sys.argv as it is
        return False
    launcher = getattr(trainer.strategy, "launcher", None)
    return (
        isinstance(launcher, _SubprocessScriptLauncher)
        and not launcher.cluster_environment.creates_processes_externally
    )


@contextmanager
def ddp_launch(trainer: Any, job: str) -> Iterator[None]:
    """Let Lightning's DDP launcher start ranks 1.. by re-running this job (see
    conf/trainer/ddp.yaml).

    Lightning starts each further local process by re-running ``sys.argv`` from the
    original folder with ``hydra.run.dir=<this run's folder> hydra.output_subdir=null``
    added, so all ranks share one run folder and only rank 0 writes .hydra/. The
    ``facies`` command hands Hydra ``sys.argv = [facies-<job>, overrides...]``, which
    is no command line; while the processes start, sys.argv re-runs this job instead.
    Nothing changes where processes are started for us (torchrun, SLURM) or already
    running.
    """
    if not _starts_processes(trainer):
        yield
        return
    hydra = HydraConfig.get()
    if hydra.mode == RunMode.MULTIRUN:
        raise ConfigError(
            "trainer=ddp with -m (multirun): Lightning would start the other processes in a "
            "folder of their own; run each configuration as its own `facies "
            f"{job} trainer=ddp ...`, or start the processes with torchrun or SLURM."
        )
    extra = [o for o in hydra.overrides.hydra if not o.split("=", 1)[0].endswith(_LAUNCHER_KEYS)]
    saved = sys.argv
    sys.argv = [_rerunnable_script(), job, *hydra.overrides.task, *extra]
    try:
        yield
    finally:
        sys.argv = saved


def run(cfg: DictConfig) -> dict:
    """Train, then test the best checkpoint; returns the test metrics."""
    from facies import plots
    from facies.evaluation import report

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
        from facies.checkpoint import load_module

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
        print(f"run folder: {out}")
    return metrics
