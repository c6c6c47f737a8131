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
from facies.io.datasets import (
    dataset_record,
    ingest_dataset,
    is_survey_dataset,
    labels_name,
    open_survey_dataset,
)
from facies.io.fingerprint import FingerprintCache
from facies.io.segy.options import segy_options
from facies.io.store import (
    ingest_segy,
    open_survey,
    read_record,
    record_differences,
    record_digest,
    store_record,
)
from facies.runtime import is_primary_process

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


#: How long the other processes of a distributed run wait for rank 0 to make the store,
#: and how often they look (seconds). Making the synthetic survey or ingesting a large
#: SEG-Y file can take a while.
STORE_WAIT_S = 3600.0
STORE_POLL_S = 5.0
#: Where SEG-Y surveys are stored when the data config names no store (relative to the
#: folder facies runs in).
CACHE_FOLDER = "data"


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


def store_folder(cfg: Mapping | DictConfig) -> Path:
    """Where a data config's survey is stored when ``store`` is not given: beside the
    built-in synthetic survey's SEG-Y files, else ``data/`` under the current folder."""
    if source_of(cfg) == SYNTHETIC_SOURCE and cfg.get("seismic"):
        return Path(cfg.seismic).parent
    return Path(CACHE_FOLDER)


def prepare_store(cfg: DictConfig, segy: Mapping | DictConfig | None = None) -> Path:
    """The survey store named by a data config, made from its sources when missing, its
    SEG-Y files read with the options ``segy`` (a job's ``segy`` node: ``cfg.segy``).

    A store given as ``store`` must exist (it is what to train on). Otherwise the survey
    is stored under :func:`store_folder` as ``<seismic name>-<digest>.zarr``, the digest
    that of its record (:func:`facies.io.store.store_record`: fingerprints of the SEG-Y
    file and the labels, the SEG-Y options, ``ignore_label``, the class names), and a
    store is reused only when its record is the one the config gives now: another survey
    of the same name, other header bytes, labels or classes make a store of their own.
    ``data/<seismic name>.zarr`` (where ``facies ingest`` puts it) is reused when its
    record matches too. A ``store`` that is an MDIO v1 or segysak dataset is stored the
    same way, on first use (:func:`_dataset_store`).

    Under DDP started by SLURM or torchrun every process runs the job: only the first
    (global rank 0) makes the store; the others wait until it exists (the store is
    renamed into place only when complete, so existing means whole).
    """
    synthetic = source_of(cfg) == SYNTHETIC_SOURCE and cfg.get("synthetic") is not None
    given = Path(cfg.store) if cfg.get("store") else None
    if given is not None and is_survey_dataset(given):
        return _dataset_store(cfg, given, segy, synthetic)
    if synthetic:
        _check_synthetic_cache(cfg, given)
    if given is not None:
        return _given_store(cfg, given, segy, synthetic)
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
    seismic = Path(cfg.seismic)
    primary = is_primary_process()
    if synthetic and not seismic.exists():
        if primary:
            from facies.sources.synthetic import make_synthetic_survey

            log.info("making the synthetic survey in %s (first use)", seismic.parent)
            make_synthetic_survey(seismic.parent, **_plain(cfg.synthetic))
        else:
            for path in _input_paths(cfg).values():
                _wait_for(path, cfg, "the synthetic survey file")
    _check_inputs(cfg)
    options = _segy(cfg, segy)
    fingerprints = FingerprintCache()
    record = _record(cfg, options, fingerprints)
    store = cache_path(cfg, record)
    for candidate in (store_folder(cfg) / f"{seismic.stem}.zarr", store):
        if candidate.exists() and not record_differences(read_record(candidate), record):
            log.info("reusing the survey store %s (made from %s)", candidate, seismic)
            return candidate
    _say_why_not_reused(cfg, record, store)
    if not primary:
        return _wait_for(store, cfg, "the survey store")
    log.info("storing %s as %s (first use with these inputs and options)", seismic, store)
    ingest_segy(
        seismic,
        store,
        labels=cfg.labels,
        ignore_label=cfg.get("ignore_label"),
        class_names=_plain(cfg.get("classes")),
        overwrite=store.exists(),  # at this name only a store of this record: a broken one
        fingerprints=fingerprints,
        record=record,
        **options,
    )
    return store


def _say_why_not_reused(cfg: Mapping | DictConfig, record: dict[str, Any], store: Path) -> None:
    """Log why the stores already made of a survey of this name are not used (the one
    closest to this config: the fewest differences, then the newest)."""
    stem = Path(cfg.seismic).stem
    folder = store_folder(cfg)
    others = [folder / f"{stem}.zarr", *folder.glob(f"{stem}-*.zarr")]
    found = []
    for other in others:
        if other.is_dir() and other != store:
            differ = record_differences(read_record(other), record)
            found.append((len(differ), -other.stat().st_mtime, other, differ))
    if found:
        _, _, other, differ = min(found)
        log.info(
            "not reusing %s (%d store(s) of a survey named %s there): %s differ(s) from this "
            "config's; the survey goes to %s",
            other, len(found), stem, "; ".join(differ), store,
        )  # fmt: skip


def cache_path(cfg: Mapping | DictConfig, record: dict[str, Any]) -> Path:
    """Where the survey of a data config without ``store`` is stored: its name says what
    it was made from (the digest of its record), so two surveys never share one."""
    return store_folder(cfg) / f"{Path(cfg.seismic).stem}-{record_digest(record)}.zarr"


def survey_record(
    cfg: Mapping | DictConfig,
    segy: Mapping | DictConfig | None = None,
    fingerprints: FingerprintCache | None = None,
) -> dict[str, Any]:
    """The store record (:func:`facies.io.store.store_record`) of a data config's survey."""
    return _record(cfg, _segy(cfg, segy), fingerprints)


def _input_paths(cfg: Mapping | DictConfig) -> dict[str, Path]:
    """The input files a data config names (seismic, labels, and classes if a file)."""
    paths = {"seismic": Path(cfg.seismic), "labels": Path(cfg.labels)}
    classes = cfg.get("classes")
    if isinstance(classes, str):
        paths["classes"] = Path(classes)
    return paths


def _check_inputs(cfg: Mapping | DictConfig) -> None:
    for key, path in _input_paths(cfg).items():
        if key in ("labels", "classes") and path.is_dir():  # labelled sections
            continue
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise OptionError(f"{{key}}={path} {what}; give the path of the file.", option=key)


def _record(
    cfg: Mapping | DictConfig, options: dict[str, Any], fingerprints: FingerprintCache | None
) -> dict[str, Any]:
    return store_record(
        cfg.seismic,
        labels=cfg.labels,
        ignore_label=cfg.get("ignore_label"),
        class_names=_plain(cfg.get("classes")),
        fingerprints=fingerprints,
        **options,
    )


def _given_store(
    cfg: DictConfig, store: Path, segy: Mapping | DictConfig | None, synthetic: bool
) -> Path:
    """A store the config names: it must exist; with ``data=segy`` and a SEG-Y file
    named too, it must have been made from that file, its labels and options."""
    if not store.exists():
        raise OptionError(
            f"{{key}}={store} does not exist; give the path of a survey store made with "
            "`facies ingest input=<survey.sgy> output=<store>`, or leave {key} out to train "
            "on {seismic} (stored under data/ on first use).",
            option="store",
            others=("seismic",),
        )
    if synthetic or not cfg.get("seismic") or not cfg.get("labels"):
        return store
    found = read_record(store)
    if found is None:
        log.warning(
            "%s records no inputs (made by an older facies): it is not checked against "
            "%s; ingest it again to have it checked",
            store, cfg.seismic,
        )  # fmt: skip
        return store
    _check_inputs(cfg)
    differ = record_differences(found, _record(cfg, _segy(cfg, segy), None))
    if differ:
        raise OptionError(
            f"{{key}}={store} was not made from these inputs: {'; '.join(differ)} differ(s). "
            "Leave {key} out to have facies store {seismic} with these options (a store of "
            "its own under data/), or give the store made from them.",
            option="store",
            others=("seismic",),
        )
    return store


def _dataset_store(
    cfg: DictConfig, source: Path, segy: Mapping | DictConfig | None, synthetic: bool
) -> Path:
    """An MDIO v1 or segysak dataset given as ``store``: stored as a survey store under
    ``data/`` on first use (``<name>-<digest>.zarr``, the digest that of its record:
    :func:`facies.io.datasets.dataset_record`), and reused while the record matches.

    ``labels`` names one of its variables or a labels file; without it, a variable named
    ``labels`` is used if there is one. The synthetic data config's own labels and class
    names (files beside ``seismic``) describe the synthetic survey, not this one: they
    are left out.
    """
    options = _segy(cfg, segy)
    view = open_survey_dataset(source, options.get("sample_interval"))
    labels, classes = cfg.get("labels"), _plain(cfg.get("classes"))
    if synthetic and cfg.get("seismic"):
        own = Path(cfg.seismic).parent
        if labels and str(labels) not in view.variable_names() and Path(labels).parent == own:
            labels = None
        if isinstance(classes, str) and Path(classes).parent == own:
            classes = None
    labels = labels_name(view, labels)
    keywords = {"labels": labels, "ignore_label": cfg.get("ignore_label"), "class_names": classes}
    reading = {k: options[k] for k in ("zero_traces", "sample_interval") if k in options}
    record = dataset_record(source, **keywords, **reading)
    store = Path(CACHE_FOLDER) / f"{source.stem}-{record_digest(record)}.zarr"
    if store.exists() and not record_differences(read_record(store), record):
        log.info("reusing the survey store %s (made from %s)", store, source)
        return store
    if not is_primary_process():
        return _wait_for(store, cfg, "the survey store")
    log.info("storing the %s dataset %s as %s (first use)", view.convention, source, store)
    ingest_dataset(source, store, **keywords, overwrite=store.exists(), record=record, **options)
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
            "{labels}=<dir>/labels.sgy {classes}=<dir>/classes.json.",
            option="synthetic",
            others=("seismic", "labels", "classes"),
        )


def _wait_for(store: Path, cfg: DictConfig, what: str = "the survey store") -> Path:
    """Wait, in a process other than rank 0, until rank 0 has made ``store`` (``what``)."""
    rank = os.environ.get("RANK") or os.environ.get("SLURM_PROCID") or "?"
    log.info("rank %s: waiting for rank 0 to make %s %s", rank, what, store)
    start = time.monotonic()
    last_note = start
    while not store.exists():
        now = time.monotonic()
        if now - start > STORE_WAIT_S:
            raise ConfigError(
                f"rank {rank} waited {now - start:.0f} s for rank 0 to make {what} "
                f"{store}, and it is still missing (did rank 0 fail?); make it before the "
                f"distributed run: `facies ingest input={cfg.seismic} labels={cfg.labels} "
                f"output={store}` (after `facies synth` for the synthetic survey), and "
                "name that store as the run's data.store."
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
