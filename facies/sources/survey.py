"""Where a training survey comes from: a store, a SEG-Y pair, the built-in synthetic one,
or the F3 Netherlands facies benchmark.

The data config says which (``source``: ``synthetic``, ``segy`` or ``f3``; see
conf/data/). Every SEG-Y source ends as a survey store (read without decoding SEG-Y
again); SEG-Y inputs are ingested into it on first use, read with the job's ``segy``
options, and the store is reused after that. The F3 benchmark (``data=f3``) is read from
its published ``.npy`` files instead (:mod:`facies.sources.f3`) and brings its own test
surveys.
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

from facies.errors import ConfigError, OptionError
from facies.io.segy.options import segy_options
from facies.io.store import ingest_segy, open_survey
from facies.runtime import is_primary_process

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


#: How long the other processes of a distributed run wait for rank 0 to make the store,
#: and how often they look (seconds). Making the synthetic survey or ingesting a large
#: SEG-Y file can take a while.
STORE_WAIT_S = 3600.0
STORE_POLL_S = 5.0


#: ``data.source`` of each data config (conf/data/<source>.yaml).
SYNTHETIC_SOURCE, SEGY_SOURCE, F3_SOURCE = "synthetic", "segy", "f3"
SOURCES = (SYNTHETIC_SOURCE, SEGY_SOURCE, F3_SOURCE)


def source_of(cfg: Mapping | DictConfig) -> str:
    """The source of a data config: its ``source``, or for a config without one (made by
    hand, or saved by facies <= 0.2) ``synthetic`` where it has a ``synthetic`` block and
    ``segy`` otherwise."""
    source = cfg.get("source")
    if source is None:
        return SYNTHETIC_SOURCE if cfg.get("synthetic") is not None else SEGY_SOURCE
    if source not in SOURCES:
        raise OptionError(
            f"{{key}}={source!r} is no survey source; the sources are {', '.join(SOURCES)} "
            "(choose one with data=<source>).",
            option="source",
        )
    return source


def _segy(cfg: Mapping | DictConfig, segy: Mapping | DictConfig | None) -> dict[str, Any]:
    """The SEG-Y reading options: ``segy`` (the job's ``segy`` node), else those a data
    config saved by facies <= 0.2 held as ``data.segy``, else the readers' defaults."""
    return segy_options(segy if segy is not None else cfg.get("segy"))


def prepare_store(cfg: DictConfig, segy: Mapping | DictConfig | None = None) -> Path:
    """The survey store named by a data config, made from its sources when missing, its
    SEG-Y files read with the options ``segy`` (a job's ``segy`` node: ``cfg.segy``).

    Under DDP started by SLURM or torchrun every process runs the job: only the first
    (global rank 0) makes the store; the others wait until it exists (the store is
    renamed into place only when complete, so existing means whole).
    """
    synthetic = source_of(cfg) == SYNTHETIC_SOURCE and cfg.get("synthetic") is not None
    store = Path(cfg.store) if cfg.get("store") else None
    if synthetic:
        _check_synthetic_cache(cfg, store)
    if store is not None and store.exists():
        return store
    if not cfg.get("seismic"):
        raise OptionError(
            "no survey to train on: give {store}=<survey.zarr> or {seismic}=<file.sgy> "
            "(with {labels}=<labels.sgy|.npy>).",
            option="store",
            others=("seismic", "labels"),
        )
    if not cfg.get("labels"):
        raise OptionError(
            f"training on {cfg.seismic} needs facies labels: {{key}}=<labels.sgy|labels.npy>.",
            option="labels",
        )
    if store is None:
        store = Path("data") / f"{Path(cfg.seismic).stem}.zarr"
        if store.exists():  # ingested by an earlier run
            return store
    if not is_primary_process():
        return _wait_for_store(store, cfg)
    if synthetic and not Path(cfg.seismic).exists():
        from facies.sources.synthetic import make_synthetic_survey

        log.info("making the synthetic survey in %s (first use)", Path(cfg.seismic).parent)
        params = _plain(cfg.synthetic)
        make_synthetic_survey(Path(cfg.seismic).parent, **params)
    store.parent.mkdir(parents=True, exist_ok=True)
    ingest_segy(
        cfg.seismic,
        store,
        labels=cfg.labels,
        ignore_label=cfg.get("ignore_label"),
        class_names=_plain(cfg.get("classes")),
        **_segy(cfg, segy),
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
        raise OptionError(
            f"{where} holds a synthetic survey made with other settings than "
            f"{{key}}; delete {seismic.parent} to make it anew with these, or give "
            "them a folder of their own: {seismic}=<dir>/seismic.sgy "
            "{labels}=<dir>/labels.sgy {classes}=<dir>/classes.json "
            "{store}=<dir>/survey.zarr.",
            option="synthetic",
            others=("seismic", "labels", "classes", "store"),
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


def _is_f3(cfg: Mapping | DictConfig) -> bool:
    return source_of(cfg) == F3_SOURCE


def load_survey(cfg: DictConfig, segy: Mapping | DictConfig | None = None) -> xr.Dataset:
    """The training survey of a data config: its store opened lazily (made if needed, its
    SEG-Y read with the options ``segy``: a job's ``cfg.segy``), or, for ``data=f3``, the
    benchmark's training volume::

        survey = load_survey(cfg.data, segy=cfg.segy)
    """
    if _is_f3(cfg):
        from facies.sources.f3 import load_f3

        return load_f3(cfg.get("root"), parts=("train",)).train
    return open_survey(prepare_store(cfg, segy=segy))


def load_test_surveys(cfg: Mapping | DictConfig) -> dict[str, xr.Dataset]:
    """Test surveys that come with a data config (F3: ``test1``, ``test2``), else none:
    the test split is then a block of the training survey's inlines."""
    if _is_f3(cfg):
        from facies.sources.f3 import TEST_SETS, load_f3

        return load_f3(cfg.get("root"), parts=TEST_SETS).tests
    return {}
