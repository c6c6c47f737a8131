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
    from facies.checkpoint import load_module
    from facies.data.datamodule import SurveyDataModule
    from facies.data.sources import load_survey
    from facies.evaluation import report
    from facies.jobs.train import build_trainer, run_dir

    module = load_module(cfg.checkpoint)
    survey = load_survey(cfg.data)
    hp = module.hparams
    datamodule = SurveyDataModule(
        survey,
        patch=tuple(hp.patch),
        stride=tuple(cfg.data.stride),
        batch_size=cfg.data.batch_size,
        splits=OmegaConf.to_container(cfg.data.splits, resolve=True),
        size_multiple=module.size_multiple,
        norm_stats=dict(hp.norm_stats) if hp.norm_stats else None,
        seed=cfg.seed,
    )
    datamodule.setup("test")
    names = datamodule.class_names
    if list(names) != list(hp.class_names):
        raise ConfigError(
            f"the survey's classes {names} differ from the checkpoint's {list(hp.class_names)}."
        )
    out = run_dir()
    trainer = build_trainer(cfg, out, callbacks=[])
    metrics = report(trainer, module, datamodule, out, {"checkpoint": str(cfg.checkpoint)})
    print(f"run folder: {out}")
    return metrics
