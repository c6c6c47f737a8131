"""``facies inspect checkpoint=... [section=inline:N]``: the feature-hierarchy report."""

from __future__ import annotations

import logging
import time

from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    """Inspect a U-Net checkpoint and its untrained control; write the report."""
    if not cfg.get("checkpoint"):
        raise ConfigError("facies inspect needs checkpoint=<path/to/best.ckpt>.")
    import torch

    from facies.inference.checks import check_survey
    from facies.inspection import inspect_checkpoint, write_report
    from facies.runtime import run_dir
    from facies.sources.survey import load_survey
    from facies.training.inputs import datamodule_for

    device = cfg.device  # auto, cpu, cuda or cuda:N, checked by facies.jobs.validate
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)

    def datamodule(hparams: dict):
        survey = load_survey(cfg.data, segy=cfg.get("segy"))
        check_survey(hparams, survey, cfg.get("allow_mismatch", False), "inspect it")
        return datamodule_for(
            survey,
            data_cfg,
            dict(hparams["model"]),
            cfg.seed,
            norm_stats=dict(hparams["norm_stats"]) if hparams.get("norm_stats") else None,
            patch=tuple(hparams["patch"]),
        )

    started = time.perf_counter()
    inspection = inspect_checkpoint(
        cfg.checkpoint,
        datamodule,
        section=cfg.section,
        device=device,
        probe_sections=cfg.probe.sections,
        erf_sections=cfg.erf.sections,
        channels=cfg.channels,
        mass=cfg.erf.mass,
        probe_pixels=cfg.probe.pixels,
        probe_iterations=cfg.probe.iterations,
        seed=cfg.seed,
    )
    out = run_dir()
    report = write_report(inspection, out)
    seconds = time.perf_counter() - started
    print(f"{'stage':<11} {'field':>9} {'effective':>13} {'centroid':>9} {'probe mIoU':>16}")
    for t, c in zip(inspection.trained.stages, inspection.control.stages, strict=True):
        print(
            f"{t.name:<11} {t.theoretical_field[0]:>9.0f} "
            f"{t.effective_field[0]:>6.1f}x{t.effective_field[1]:<6.1f} "
            f"{t.centroid.radial:>9.3f} {t.probe.miou:>7.3f} ({c.probe.miou:.3f})"
        )
    print(f"report: {report} ({seconds:.0f} s)")
    return inspection.as_dict()
