"""A cached survey store is keyed by content: it records what it was made from and is
reused only when all of it matches; otherwise the survey gets a store of its own."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from facies.errors import ConfigError
from facies.io.store import STORE_RECORD, ingest_segy, open_survey, read_record, store_record
from facies.names import AMPLITUDE, LABELS
from facies.sources import survey as sources
from tests.helpers import copy_header_bytes, encoded_cube


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in tmp_path: cached stores go to tmp_path/data."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def survey_files(here: Path, sub: str, make_segy, n_inlines: int = 6, scale: float = 1.0):
    """<sub>/seismic.sgy and <sub>/labels.npy of a tiny survey under ``here`` (tmp_path)."""
    (here / sub).mkdir(exist_ok=True)
    inlines, crosslines = np.arange(1, n_inlines + 1), np.arange(20, 24)
    cube = encoded_cube(inlines, crosslines, 8) * scale
    seismic = make_segy(f"{sub}/seismic.sgy", inlines=inlines, crosslines=crosslines, cube=cube)
    labels = (np.arange(n_inlines * 4 * 8).reshape(n_inlines, 4, 8) % 3).astype(np.int16)
    np.save(here / sub / "labels.npy", labels)
    return seismic, here / sub / "labels.npy"


def config(seismic: Path, labels: Path, **extra) -> object:
    return OmegaConf.create(
        {"source": "segy", "store": None, "seismic": str(seismic), "labels": str(labels),
         "classes": None, "ignore_label": None, **extra}
    )  # fmt: skip


def test_two_surveys_of_the_same_name_get_stores_of_their_own(here, make_segy, caplog):
    a = config(*survey_files(here, "a", make_segy, n_inlines=6))
    b = config(*survey_files(here, "b", make_segy, n_inlines=9))
    store_a, store_b = sources.prepare_store(a), sources.prepare_store(b)
    assert store_a != store_b and store_a.parent == store_b.parent == Path("data")
    assert open_survey(store_a).sizes["inline"] == 6
    assert open_survey(store_b).sizes["inline"] == 9
    assert sources.prepare_store(a) == store_a  # reused, not made again
    # the same folder, the file replaced by another survey of the same name
    with caplog.at_level(logging.INFO, logger=sources.__name__):
        survey_files(here, "a", make_segy, n_inlines=7)
        store_c = sources.prepare_store(a)
    assert store_c not in (store_a, store_b)
    assert open_survey(store_c).sizes["inline"] == 7
    assert "storing" in caplog.text


def test_the_same_survey_by_another_path_is_the_same_store(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    store = sources.prepare_store(config(seismic, labels))
    (here / "copy").mkdir()
    shutil.copy(seismic, here / "copy" / "seismic.sgy")
    shutil.copy(labels, here / "copy" / "labels.npy")
    again = sources.prepare_store(
        config(here / "copy" / "seismic.sgy", here / "copy" / "labels.npy")
    )
    assert again == store


def test_changed_options_labels_or_classes_make_a_store_of_their_own(here, make_segy, caplog):
    seismic, labels = survey_files(here, "a", make_segy)
    cfg = config(seismic, labels)
    first = sources.prepare_store(cfg)
    stores = {first}

    def fresh(cfg, segy=None, why=""):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=sources.__name__):
            store = sources.prepare_store(cfg, segy=segy)
        assert store not in stores, why
        stores.add(store)
        return store

    fresh(cfg, {"zero_traces": "live"}, "SEG-Y option")
    assert sources.prepare_store(cfg, {"min_live_fraction": 0.5}) == first  # changes nothing
    fresh(OmegaConf.merge(cfg, {"ignore_label": 2}), why="ignore_label")
    fresh(OmegaConf.merge(cfg, {"classes": ["a", "b", "c"]}), why="classes")
    (here / "classes.json").write_text(json.dumps(["a", "b", "c"]))
    with_file = OmegaConf.merge(cfg, {"classes": str(here / "classes.json")})
    assert sources.prepare_store(with_file) in stores  # the same names, from a file
    (here / "classes.json").write_text(json.dumps(["x", "y", "z"]))
    fresh(with_file, why="the class file's content")
    # an interpreter's edit in the middle of the labels: same size, same head and tail
    edited = np.load(labels)
    edited[3, 2, 4] = (edited[3, 2, 4] + 1) % 3
    np.save(labels, edited)
    store = fresh(cfg, why="labels")
    assert "the labels" in caplog.text and "not reusing" in caplog.text
    np.testing.assert_array_equal(open_survey(store)[LABELS].values, edited)


def test_changed_header_bytes_make_a_store_of_their_own(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    copy_header_bytes(seismic, ns=8, sample_bytes=4, pairs={189: 9, 193: 21})
    cfg = config(seismic, labels)
    default = sources.prepare_store(cfg)
    other = sources.prepare_store(cfg, segy={"iline": 9, "xline": 21})
    assert other != default
    assert read_record(other)["segy"]["iline"] == 9 and read_record(default)["segy"]["iline"] == 189
    assert sources.prepare_store(cfg, segy={"iline": 189, "xline": 193}) == default  # defaults


def test_amplitudes_changed_under_the_same_headers_make_a_store_of_their_own(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    first = sources.prepare_store(config(seismic, labels))
    survey_files(here, "a", make_segy, scale=2.0)  # reprocessed: same headers and size
    second = sources.prepare_store(config(seismic, labels))
    assert second != first
    assert (
        open_survey(second)[AMPLITUDE].values.max()
        == 2 * open_survey(first)[AMPLITUDE].values.max()
    )


def test_a_store_from_facies_ingest_is_reused_when_its_record_matches(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    ingested = ingest_segy(seismic, here / "data" / "seismic.zarr", labels=labels)
    assert sources.prepare_store(config(seismic, labels)) == Path("data/seismic.zarr")
    assert ingested.exists()
    other = sources.prepare_store(config(seismic, labels, ignore_label=1))
    assert other.name.startswith("seismic-") and ingested.exists()  # never replaced


def test_an_old_store_is_not_reused_for_a_cache(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    old = ingest_segy(seismic, here / "data" / "seismic.zarr", labels=labels)
    meta = json.loads((old / "zarr.json").read_text())
    del meta["attributes"][STORE_RECORD]
    (old / "zarr.json").write_text(json.dumps(meta))
    assert sources.prepare_store(config(seismic, labels)).name.startswith("seismic-")


def test_a_given_store_must_exist_and_match_the_inputs_named(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    with pytest.raises(ConfigError, match=r"store=nowhere.zarr does not exist; give the path"):
        sources.prepare_store(config(seismic, labels, store="nowhere.zarr"))
    made = ingest_segy(seismic, here / "mine.zarr", labels=labels, ignore_label=1)
    assert sources.prepare_store(OmegaConf.create({"source": "segy", "store": str(made)})) == made
    with pytest.raises(
        ConfigError, match=r"was not made from these inputs: ignore_label \(1 -> None\)"
    ):
        sources.prepare_store(config(seismic, labels, store=str(made)))
    assert sources.prepare_store(config(seismic, labels, store=str(made), ignore_label=1)) == made


def test_missing_inputs_are_named(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    with pytest.raises(ConfigError, match=r"labels=\S+nope.npy does not exist"):
        sources.prepare_store(config(seismic, here / "nope.npy"))
    with pytest.raises(ConfigError, match=r"seismic=\S+a does not exist|seismic=\S+ is a folder"):
        sources.prepare_store(config(here / "a", labels))


def test_the_record_leaves_paths_out_and_fills_in_defaults(here, make_segy):
    seismic, labels = survey_files(here, "a", make_segy)
    record = store_record(seismic, labels=labels)
    assert str(here) not in json.dumps(record)
    assert record["segy"]["iline"] == 189 and "min_live_fraction" not in record["segy"]
    assert record == store_record(seismic, labels=labels, iline=189, xline=193)
