"""``facies ingest input=survey.sgy [labels=...] [output=...]``: SEG-Y to survey store."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError
from facies.io.segy.options import segy_options
from facies.io.store import ingest_segy, open_survey
from facies.io.survey_qc import format_qc, survey_qc


def run(cfg: DictConfig) -> dict:
    """Ingest ``cfg.input`` into a zarr store and print its QC summary."""
    if not cfg.get("input"):
        raise ConfigError("facies ingest needs a SEG-Y file: facies ingest input=survey.sgy")
    source = Path(cfg.input)
    # the output rule (facies.io.outputs) is applied by ingest_segy before any work
    output = Path(cfg.output) if cfg.output else Path("data") / f"{source.stem}.zarr"
    classes = cfg.classes
    if OmegaConf.is_list(classes):
        classes = list(classes)
    ingest_segy(
        source,
        output,
        labels=cfg.labels,
        ignore_label=cfg.ignore_label,
        class_names=classes,
        overwrite=cfg.overwrite,
        **segy_options(cfg.segy),
    )
    # the QC summary lives in the store (attribute qc), so the store is one zarr tree
    qc = open_survey(output).attrs.get("qc") or survey_qc(open_survey(output))
    print(f"survey store: {output}")
    print(format_qc(qc))
    return qc
