"""``facies ingest input=survey.sgy [labels=...] [output=...]``: SEG-Y to survey store.

``input=`` may also be an MDIO v1 store or a segysak dataset (zarr or netCDF): its names
are mapped (:mod:`facies.io.conventions`) and it is stored the same way; ``labels=`` then
names one of its variables, or a labels file.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError
from facies.io.datasets import ingest_dataset, is_survey_dataset
from facies.io.segy.options import segy_options
from facies.io.store import ingest_segy, open_survey
from facies.io.survey_qc import format_qc, survey_qc


def run(cfg: DictConfig) -> dict:
    """Ingest ``cfg.input`` into a zarr store and print its QC summary."""
    if not cfg.get("input"):
        raise ConfigError(
            "facies ingest needs a SEG-Y file or a dataset (MDIO v1, segysak): "
            "facies ingest input=survey.sgy"
        )
    source = Path(cfg.input)
    # the output rule (facies.io.outputs) is applied by the ingest before any work
    output = Path(cfg.output) if cfg.output else Path("data") / f"{source.stem}.zarr"
    classes = cfg.classes
    if OmegaConf.is_list(classes):
        classes = list(classes)
    options = segy_options(cfg.segy)
    common = {
        "labels": cfg.labels,
        "ignore_label": cfg.ignore_label,
        "class_names": classes,
        "overwrite": cfg.overwrite,
    }
    if is_survey_dataset(source):
        ingest_dataset(source, output, **common, **options)
    else:
        ingest_segy(source, output, **common, **options)
    # the QC summary lives in the store (attribute qc), so the store is one zarr tree
    qc = open_survey(output).attrs.get("qc") or survey_qc(open_survey(output))
    print(f"survey store: {output}")
    print(format_qc(qc))
    return qc
