"""``facies evaluate checkpoint=... [data=...]``: test metrics and figures for a checkpoint."""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """Score a checkpoint on the test split of ``cfg.data`` (same split rules as training)."""
    if not cfg.get("checkpoint"):
        raise ConfigError("facies evaluate needs checkpoint=<path/to/best.ckpt>.")
    from facies.inference.checks import check_survey
    from facies.runtime import ddp_launch, run_dir
    from facies.sources.survey import load_survey
    from facies.training.checkpoint import load_module
    from facies.training.evaluation import metrics_text, report
    from facies.training.inputs import datamodule_for
    from facies.training.trainer import build_trainer

    module = load_module(cfg.checkpoint)
    survey = load_survey(cfg.data, segy=cfg.get("segy"))
    hp = module.hparams
    # a 4 ms model scores a 2 ms survey only when asked to (as predict)
    check_survey(hp, survey, cfg.get("allow_mismatch", False), "score it")
    datamodule = datamodule_for(
        survey,
        OmegaConf.to_container(cfg.data, resolve=True),
        dict(hp["model"]),
        cfg.seed,
        norm_stats=dict(hp["norm_stats"]) if hp.get("norm_stats") else None,
        patch=tuple(hp["patch"]),
    )
    datamodule.setup("test")
    names = datamodule.class_names
    if list(names) != list(hp.class_names):
        raise ConfigError(
            f"the survey's classes {names} differ from the checkpoint's {list(hp.class_names)}."
        )
    out = run_dir()
    trainer = build_trainer(cfg, out, callbacks=[])
    with ddp_launch(trainer, "evaluate"):
        metrics = report(trainer, module, datamodule, out, {"checkpoint": str(cfg.checkpoint)})
    if trainer.is_global_zero:
        print(metrics_text(metrics))
        print(f"run folder: {out}")
    return metrics
