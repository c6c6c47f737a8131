"""The survey store of a data config: made once, by rank 0 only under DDP; the other ranks
wait for it to appear (it is renamed into place whole) instead of racing to make it."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from facies.errors import ConfigError
from facies.sources import survey as sources

RANKS = ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK")


@pytest.fixture
def rank(monkeypatch):
    """Set this process's rank (as torchrun or SLURM would); never really make a store."""
    for name in RANKS:
        monkeypatch.delenv(name, raising=False)
    made: list[Path] = []

    def ingest(seismic, store, **kw):
        made.append(Path(store))
        Path(store).mkdir()
        return Path(store)

    monkeypatch.setattr(sources, "ingest_segy", ingest)
    monkeypatch.setattr(sources, "STORE_POLL_S", 0.01)

    def set_rank(variable: str | None, value: str = "0") -> list[Path]:
        if variable:
            monkeypatch.setenv(variable, value)
        return made

    return set_rank


def config(tmp_path: Path, store: Path | None) -> object:
    return OmegaConf.create(
        {
            "store": str(store) if store else None,
            "synthetic": None,
            "seismic": str(tmp_path / "seismic.sgy"),
            "labels": str(tmp_path / "labels.sgy"),
        }
    )


def _appear_later(store: Path, delay: float) -> threading.Thread:
    def write() -> None:  # as ingest_segy does: a temporary folder renamed into place
        tmp = store.with_name(f".{store.name}.tmp")
        tmp.mkdir()
        (tmp / "zarr.json").write_text("{}")
        tmp.rename(store)

    thread = threading.Timer(delay, write)
    thread.start()
    return thread


@pytest.mark.parametrize("variable", ["RANK", "SLURM_PROCID", "LOCAL_RANK"])
def test_other_ranks_wait_for_the_store_rank_0_makes(tmp_path, rank, caplog, variable):
    made = rank(variable, "1")
    store = tmp_path / "survey.zarr"
    writer = _appear_later(store, 0.2)
    with caplog.at_level(logging.INFO, logger=sources.__name__):
        assert sources.prepare_store(config(tmp_path, store)) == store
    writer.join()
    assert made == []  # this rank made nothing
    assert "waiting for rank 0 to make the survey store" in caplog.text


def test_a_rank_that_waits_too_long_says_how_to_make_the_store(tmp_path, rank, monkeypatch):
    rank("RANK", "3")
    monkeypatch.setattr(sources, "STORE_WAIT_S", 0.05)
    store = tmp_path / "survey.zarr"
    with pytest.raises(ConfigError, match=r"rank 3 waited .*`facies ingest input=\S*seismic.sgy"):
        sources.prepare_store(config(tmp_path, store))
    assert not store.exists()


@pytest.mark.parametrize("variable", [None, "RANK", "SLURM_PROCID"])
def test_rank_0_makes_the_store(tmp_path, rank, variable):
    made = rank(variable, "0")
    store = tmp_path / "survey.zarr"
    assert sources.prepare_store(config(tmp_path, store)) == store
    assert made == [store]
    assert sources.prepare_store(config(tmp_path, store)) == store
    assert made == [store]  # made once, reused after


def test_the_default_store_is_made_once_then_reused(tmp_path, rank, monkeypatch):
    made = rank(None)
    monkeypatch.chdir(tmp_path)
    assert sources.prepare_store(config(tmp_path, None)) == Path("data/seismic.zarr")
    assert sources.prepare_store(config(tmp_path, None)) == Path("data/seismic.zarr")
    assert made == [Path("data/seismic.zarr")]


def test_a_cached_synthetic_survey_made_with_other_settings_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "synthetic"
    settings = {"n_inlines": 16, "n_crosslines": 12, "n_samples": 32, "seed": 0}
    cfg = OmegaConf.create(
        {
            "store": str(folder / "survey.zarr"),
            "seismic": str(folder / "seismic.sgy"),
            "labels": str(folder / "labels.sgy"),
            "classes": str(folder / "classes.json"),
            "synthetic": settings,
        }
    )
    store = sources.prepare_store(cfg)
    assert store.exists()
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
