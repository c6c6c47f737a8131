"""The survey store of a data config: made once, by rank 0 only under DDP; the other ranks
wait for it to appear (it is renamed into place whole) instead of racing to make it."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from facies.errors import ConfigError
from facies.io.segy.create import create_segy
from facies.sources import survey as sources
from tests.helpers import encoded_cube

RANKS = ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK")


@pytest.fixture
def rank(monkeypatch):
    """Set this process's rank (as torchrun or SLURM would); never really make a store
    (the stand-in writes a store that holds only its record, as ingest_segy records it)."""
    for name in RANKS:
        monkeypatch.delenv(name, raising=False)
    made: list[Path] = []

    def ingest(seismic, store, record=None, **kw):
        made.append(Path(store))
        _write_record(Path(store), record)
        return Path(store)

    monkeypatch.setattr(sources, "ingest_segy", ingest)
    monkeypatch.setattr(sources, "STORE_POLL_S", 0.01)

    def set_rank(variable: str | None, value: str = "0") -> list[Path]:
        if variable:
            monkeypatch.setenv(variable, value)
        return made

    return set_rank


def _write_record(store: Path, record: dict | None) -> None:
    store.mkdir(parents=True)
    meta = {"zarr_format": 3, "node_type": "group", "attributes": {"facies_store": record}}
    (store / "zarr.json").write_text(json.dumps(meta))


def config(tmp_path: Path, store: Path | None = None) -> object:
    """A data config of a tiny SEG-Y survey (made here) and its labels."""
    seismic = tmp_path / "seismic.sgy"
    if not seismic.exists():
        inlines, crosslines = np.arange(1, 6), np.arange(1, 5)
        create_segy(seismic, encoded_cube(inlines, crosslines, 8), inlines, crosslines)
        np.save(tmp_path / "labels.npy", np.zeros((5, 4, 8), dtype=np.int16))
    return OmegaConf.create(
        {
            "store": str(store) if store else None,
            "synthetic": None,
            "seismic": str(seismic),
            "labels": str(tmp_path / "labels.npy"),
        }
    )


def _appear_later(store: Path, record: dict, delay: float) -> threading.Thread:
    def write() -> None:  # as ingest_segy does: a temporary folder renamed into place
        tmp = store.with_name(f".{store.name}.tmp")
        _write_record(tmp, record)
        tmp.rename(store)

    thread = threading.Timer(delay, write)
    thread.start()
    return thread


@pytest.mark.parametrize("variable", ["RANK", "SLURM_PROCID", "LOCAL_RANK"])
def test_other_ranks_wait_for_the_store_rank_0_makes(tmp_path, rank, caplog, variable, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = rank(variable, "1")
    cfg = config(tmp_path)
    record = sources.survey_record(cfg)
    store = sources.cache_path(cfg, record)
    store.parent.mkdir()
    writer = _appear_later(store, record, 0.2)
    with caplog.at_level(logging.INFO, logger=sources.__name__):
        assert sources.prepare_store(cfg) == store
    writer.join()
    assert made == []  # this rank made nothing
    assert "waiting for rank 0 to make the survey store" in caplog.text


def test_a_rank_that_waits_too_long_says_how_to_make_the_store(tmp_path, rank, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rank("RANK", "3")
    monkeypatch.setattr(sources, "STORE_WAIT_S", 0.05)
    cfg = config(tmp_path)
    with pytest.raises(ConfigError, match=r"rank 3 waited .*`facies ingest input=\S*seismic.sgy"):
        sources.prepare_store(cfg)
    assert not sources.cache_path(cfg, sources.survey_record(cfg)).exists()


@pytest.mark.parametrize("variable", [None, "RANK", "SLURM_PROCID"])
def test_rank_0_makes_the_store(tmp_path, rank, variable, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = rank(variable, "0")
    cfg = config(tmp_path)
    store = sources.prepare_store(cfg)
    assert store.parent == Path("data") and store.name.startswith("seismic-")
    assert made == [store]
    assert sources.prepare_store(cfg) == store
    assert made == [store]  # made once, reused after


def test_a_given_store_must_exist(tmp_path, rank):
    made = rank(None)
    store = tmp_path / "survey.zarr"
    with pytest.raises(ConfigError, match=r"store=\S*survey.zarr does not exist"):
        sources.prepare_store(config(tmp_path, store))
    assert made == [] and not store.exists()


def test_a_cached_synthetic_survey_made_with_other_settings_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "synthetic"
    settings = {"n_inlines": 16, "n_crosslines": 12, "n_samples": 32, "seed": 0}
    cfg = OmegaConf.create(
        {
            "store": None,
            "seismic": str(folder / "seismic.sgy"),
            "labels": str(folder / "labels.sgy"),
            "classes": str(folder / "classes.json"),
            "synthetic": settings,
        }
    )
    store = sources.prepare_store(cfg)
    assert store.exists() and store.parent == folder  # beside the survey's SEG-Y files
    assert sources.prepare_store(cfg) == store  # the same settings: reused
    cfg.synthetic.n_inlines = 20
    with pytest.raises(ConfigError, match=r"made with other settings .* delete"):
        sources.prepare_store(cfg)
    # Without a store yet, the SEG-Y files' textual header is what is checked.
    shutil.rmtree(store)
    with pytest.raises(ConfigError, match=r"seismic\.sgy holds a synthetic survey"):
        sources.prepare_store(cfg)
    cfg.synthetic.n_inlines = 16
    assert sources.prepare_store(cfg) == store


def test_a_given_store_that_does_not_exist_is_not_made_from_the_synthetic_survey(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cfg = OmegaConf.create(
        {
            "source": "synthetic",
            "store": "nowhere/survey.zarr",
            "seismic": "data/synthetic/seismic.sgy",
            "labels": "data/synthetic/labels.sgy",
            "classes": "data/synthetic/classes.json",
            "synthetic": {"n_inlines": 16, "n_crosslines": 12, "n_samples": 32},
        }
    )
    with pytest.raises(ConfigError, match=r"store=nowhere/survey.zarr does not exist"):
        sources.prepare_store(cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made anywhere
