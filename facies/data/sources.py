"""Where a training survey comes from: a store, a SEG-Y pair, the built-in synthetic one,
or the F3 Netherlands facies benchmark.

Every SEG-Y source ends as a survey store (read without decoding SEG-Y again); SEG-Y
inputs are ingested into it on first use and the store is reused after that. The F3
benchmark (``data=f3``) is read from its published ``.npy`` files instead
(:mod:`facies.data.f3`) and brings its own test surveys.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr
from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError
from facies.io.store import SEGY_OPTIONS, ingest_segy, open_survey

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def prepare_store(cfg: DictConfig) -> Path:
    """The survey store named by a data config, made from its sources when missing."""
    store = Path(cfg.store) if cfg.get("store") else None
    if store is not None and store.exists():
        return store
    if cfg.get("synthetic") is not None and not Path(cfg.seismic).exists():
        from facies.synthetic import make_synthetic_survey

        log.info("making the synthetic survey in %s (first use)", Path(cfg.seismic).parent)
        params = _plain(cfg.synthetic)
        make_synthetic_survey(Path(cfg.seismic).parent, **params)
    if not cfg.get("seismic"):
        raise ConfigError(
            "no survey to train on: give data.store=<survey.zarr> or data.seismic=<file.sgy> "
            "(with data.labels=<labels.sgy|.npy>)."
        )
    if not cfg.get("labels"):
        raise ConfigError(
            f"training on {cfg.seismic} needs facies labels: data.labels=<labels.sgy|labels.npy>."
        )
    if store is None:
        store = Path("data") / f"{Path(cfg.seismic).stem}.zarr"
    store.parent.mkdir(parents=True, exist_ok=True)
    segy = _plain(cfg.get("segy")) or {}
    ingest_segy(
        cfg.seismic,
        store,
        labels=cfg.labels,
        ignore_label=cfg.get("ignore_label"),
        class_names=_plain(cfg.get("classes")),
        **{key: segy[key] for key in SEGY_OPTIONS if key in segy},
    )
    return store


#: ``data.source`` of the F3 benchmark's data config (conf/data/f3.yaml).
F3_SOURCE = "f3"


def _is_f3(cfg: Mapping | DictConfig) -> bool:
    return cfg.get("source") == F3_SOURCE


def load_survey(cfg: DictConfig) -> xr.Dataset:
    """The training survey of a data config: its store opened lazily (made if needed),
    or, for ``data=f3``, the benchmark's training volume."""
    if _is_f3(cfg):
        from facies.data.f3 import load_f3

        return load_f3(cfg.get("root"), parts=("train",)).train
    return open_survey(prepare_store(cfg))


def load_test_surveys(cfg: Mapping | DictConfig) -> dict[str, xr.Dataset]:
    """Test surveys that come with a data config (F3: ``test1``, ``test2``), else none:
    the test split is then a block of the training survey's inlines."""
    if _is_f3(cfg):
        from facies.data.f3 import TEST_SETS, load_f3

        return load_f3(cfg.get("root"), parts=TEST_SETS).tests
    return {}
