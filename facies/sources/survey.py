"""Where a training survey comes from: a store, a SEG-Y pair, the built-in synthetic one,
or the F3 Netherlands facies benchmark.

Every SEG-Y source ends as a survey store (read without decoding SEG-Y again); SEG-Y
inputs are ingested into it on first use and the store is reused after that. The F3
benchmark (``data=f3``) is read from its published ``.npy`` files instead
(:mod:`facies.sources.f3`) and brings its own test surveys.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr
from omegaconf import DictConfig, OmegaConf

from facies.errors import ConfigError
from facies.io.store import SEGY_OPTIONS, ingest_segy, open_survey
from facies.runtime import is_primary_process

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


#: How long the other processes of a distributed run wait for rank 0 to make the store,
#: and how often they look (seconds). Making the synthetic survey or ingesting a large
#: SEG-Y file can take a while.
STORE_WAIT_S = 3600.0
STORE_POLL_S = 5.0


def prepare_store(cfg: DictConfig) -> Path:
    """The survey store named by a data config, made from its sources when missing.

    Under DDP started by SLURM or torchrun every process runs the job: only the first
    (global rank 0) makes the store; the others wait until it exists (the store is
    renamed into place only when complete, so existing means whole).
    """
    store = Path(cfg.store) if cfg.get("store") else None
    if cfg.get("synthetic") is not None:
        _check_synthetic_cache(cfg, store)
    if store is not None and store.exists():
        return store
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
        if store.exists():  # ingested by an earlier run
            return store
    if not is_primary_process():
        return _wait_for_store(store, cfg)
    if cfg.get("synthetic") is not None and not Path(cfg.seismic).exists():
        from facies.sources.synthetic import make_synthetic_survey

        log.info("making the synthetic survey in %s (first use)", Path(cfg.seismic).parent)
        params = _plain(cfg.synthetic)
        make_synthetic_survey(Path(cfg.seismic).parent, **params)
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


def _check_synthetic_cache(cfg: DictConfig, store: Path | None) -> None:
    """Refuse a cached synthetic survey made with other settings than ``data.synthetic``:
    reusing it would train on a survey the config does not describe."""
    from facies.io.segy.headers import decode_text
    from facies.sources.synthetic import made_with

    seismic = Path(cfg.seismic)
    if store is not None and store.exists():
        where, header = store, open_survey(store).attrs.get("textual_header", "")
    elif seismic.exists():
        with seismic.open("rb") as fh:
            where, header = seismic, decode_text(fh.read(3200))
    else:
        return
    if made_with(header, _plain(cfg.synthetic)) is False:
        raise ConfigError(
            f"{where} holds a synthetic survey made with other settings than "
            f"data.synthetic; delete {seismic.parent} to make it anew with these, or give "
            f"them a folder of their own: data.seismic=<dir>/seismic.sgy "
            f"data.labels=<dir>/labels.sgy data.classes=<dir>/classes.json "
            f"data.store=<dir>/survey.zarr."
        )


def _wait_for_store(store: Path, cfg: DictConfig) -> Path:
    """Wait, in a process other than rank 0, until rank 0 has made ``store``."""
    rank = os.environ.get("RANK") or os.environ.get("SLURM_PROCID") or "?"
    log.info("rank %s: waiting for rank 0 to make the survey store %s", rank, store)
    start = time.monotonic()
    last_note = start
    while not store.exists():
        now = time.monotonic()
        if now - start > STORE_WAIT_S:
            raise ConfigError(
                f"rank {rank} waited {now - start:.0f} s for rank 0 to make the survey store "
                f"{store}, and it is still missing (did rank 0 fail?); make it before the "
                f"distributed run: `facies ingest input={cfg.seismic} labels={cfg.labels} "
                f"output={store}` (after `facies synth` for the synthetic survey)."
            )
        if now - last_note >= 60:
            log.info("rank %s: still waiting for %s (%.0f s)", rank, store, now - start)
            last_note = now
        time.sleep(STORE_POLL_S)
    return store


#: ``data.source`` of the F3 benchmark's data config (conf/data/f3.yaml).
F3_SOURCE = "f3"


def _is_f3(cfg: Mapping | DictConfig) -> bool:
    return cfg.get("source") == F3_SOURCE


def load_survey(cfg: DictConfig) -> xr.Dataset:
    """The training survey of a data config: its store opened lazily (made if needed),
    or, for ``data=f3``, the benchmark's training volume."""
    if _is_f3(cfg):
        from facies.sources.f3 import load_f3

        return load_f3(cfg.get("root"), parts=("train",)).train
    return open_survey(prepare_store(cfg))


def load_test_surveys(cfg: Mapping | DictConfig) -> dict[str, xr.Dataset]:
    """Test surveys that come with a data config (F3: ``test1``, ``test2``), else none:
    the test split is then a block of the training survey's inlines."""
    if _is_f3(cfg):
        from facies.sources.f3 import TEST_SETS, load_f3

        return load_f3(cfg.get("root"), parts=TEST_SETS).tests
    return {}
