"""``facies train``: the main job. Trains a model, tests it, writes the run's outputs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def run_dir() -> Path:
    """This run's folder (Hydra's output directory)."""
    return Path(HydraConfig.get().runtime.output_dir)


def build_trainer(cfg: DictConfig, out: Path, callbacks: list) -> Any:
    """The configured Trainer, with precision and cuDNN autotuning chosen for the device."""
    import torch
    from lightning.pytorch.loggers import CSVLogger

    trainer_cfg = OmegaConf.to_container(cfg.trainer, resolve=True)
    gpu = torch.cuda.is_available() and trainer_cfg.get("accelerator") in ("auto", "gpu", "cuda")
    if trainer_cfg.get("precision") is None:
        trainer_cfg["precision"] = "bf16-mixed" if gpu else "32-true"
    if trainer_cfg.get("benchmark") is None:
        trainer_cfg["benchmark"] = gpu
    logger = CSVLogger(out, name="logs", version="")
    return instantiate(trainer_cfg, callbacks=callbacks, logger=logger, default_root_dir=out)


def run(cfg: DictConfig) -> dict:
    """Train, then test the best checkpoint; returns the test metrics."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from facies import plots
    from facies.data.datamodule import IGNORE_INDEX, datamodule_for
    from facies.data.sources import load_survey
    from facies.evaluation import report
    from facies.module import FaciesModule

    L.seed_everything(cfg.seed, workers=True)
    out = run_dir()
    survey = load_survey(cfg.data)
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    datamodule = datamodule_for(survey, data_cfg, model_cfg, cfg.seed)
    datamodule.setup("fit")
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    module = FaciesModule(
        model=model_cfg,
        class_names=datamodule.class_names,
        ignore_index=IGNORE_INDEX,
        class_weights=datamodule.class_weights() if cfg.class_weights else None,
        dice_weight=cfg.dice_weight,
        norm_stats=datamodule.norm_stats.as_dict(),
        patch=list(datamodule.patch),
        sample_interval=float(survey.attrs.get("sample_interval", 0.0)),
        optimizer=instantiate(cfg.optimizer),
        scheduler=scheduler,
        channels_last=cfg.channels_last,
        compile=cfg.compile,
    )
    checkpoints = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor="val/miou",
        mode="max",
        save_last=True,
    )
    trainer = build_trainer(cfg, out, [checkpoints])
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.resume)
    seconds = time.perf_counter() - started
    if checkpoints.best_model_path:
        from facies.checkpoint import load_module

        module = load_module(checkpoints.best_model_path)
    plots.curves_figure(out / "logs" / "metrics.csv", out / "training_curves.png")
    extra = {
        "train_seconds": seconds,
        "epochs": trainer.current_epoch,
        "parameters": sum(p.numel() for p in module.parameters()),
        "best_checkpoint": checkpoints.best_model_path,
        "splits": {k: [v.start, v.stop] for k, v in datamodule.splits.items()},
    }
    metrics = report(trainer, module, datamodule, out, extra)
    print(f"run folder: {out}")
    return metrics
