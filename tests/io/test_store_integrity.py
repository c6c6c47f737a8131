"""A survey store knows it is whole: a manifest of its chunk files, checked on open with a
directory walk; stores written before the manifest existed are checked by their shapes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from facies.io import store, store_layout
from facies.io.segy import reader
from facies.io.store import (
    MANIFEST,
    STORE_RECORD,
    IncompleteStoreError,
    chunk_census,
    ingest_segy,
    open_survey,
    store_attrs,
)
from facies.names import AMPLITUDE, LABELS, LIVE
from tests.helpers import as_legacy_store, encoded_cube


@pytest.fixture
def small_chunks(monkeypatch):
    """Blocks of one inline and crossline chunks of three (8 samples): a tiny survey has
    many chunk files in both copies, those of the copy written a slab at a time."""
    monkeypatch.setattr(reader, "BLOCK_BYTES", 1)
    monkeypatch.setattr(store_layout, "MIN_CROSSLINE_INLINES", 1)
    monkeypatch.setattr(store_layout, "CROSSLINE_CHUNK_BYTES", 3 * 8 * 4)


def _chunks(path, name=AMPLITUDE):
    folder = path / name
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name not in store.METADATA_FILES
    )


def test_the_manifest_lists_every_chunk_file_written(make_segy, tmp_path, small_chunks):
    out = ingest_segy(make_segy(inlines=range(1, 8)), tmp_path / "s.zarr")
    attrs = store_attrs(out)  # the record and manifest are JSON text in zarr.json
    arrays = attrs[MANIFEST]["arrays"]
    assert arrays == chunk_census(out)
    assert arrays[AMPLITUDE]["chunks"] == len(_chunks(out)) == 7  # a shard an inline
    copy = f"{store_layout.CROSSLINE_GROUP}/{AMPLITUDE}"
    assert arrays[copy]["chunks"] == 3 * 4  # chunks of 3 of the 7 inlines x 4 crosslines
    assert STORE_RECORD in attrs


def test_a_deleted_chunk_is_refused(make_segy, tmp_path, small_chunks):
    out = ingest_segy(make_segy(inlines=range(1, 8)), tmp_path / "s.zarr")
    _chunks(out)[3].unlink()  # as an interrupted copy leaves it
    with pytest.raises(IncompleteStoreError, match=r"is incomplete: amplitude holds 6 chunk"):
        open_survey(out)
    with pytest.raises(IncompleteStoreError, match=r"ingest it again \(facies ingest input=\S+"):
        open_survey(out)


def test_a_torn_chunk_or_a_lost_array_is_refused(make_segy, tmp_path, small_chunks):
    path = make_segy(inlines=range(1, 8))
    np.save(tmp_path / "labels.npy", np.ones((7, 4, 8), dtype=np.int16))
    out = ingest_segy(path, tmp_path / "s.zarr", labels=tmp_path / "labels.npy")
    chunk = _chunks(out, LABELS)[0]
    chunk.write_bytes(chunk.read_bytes()[:-1])
    with pytest.raises(IncompleteStoreError, match=r"labels holds .* bytes where"):
        open_survey(out)
    out = ingest_segy(path, tmp_path / "t.zarr")
    for p in sorted((out / LIVE).rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    (out / LIVE).rmdir()
    with pytest.raises(IncompleteStoreError, match=r"its array 'live' is gone"):
        open_survey(out)


def test_chunks_left_out_for_holding_only_zeros_are_no_loss(make_segy, tmp_path, small_chunks):
    # dead (all-zero) inlines: facies leaves those chunks out (zarr's fill value)
    cube = encoded_cube(np.arange(1, 8), np.arange(1, 5), 8)
    cube[:4] = 0
    out = ingest_segy(make_segy(inlines=range(1, 8), cube=cube), tmp_path / "s.zarr")
    assert len(_chunks(out)) == 7 - 4
    # the copy's chunks span blocks (written a slab at a time): each has its file
    assert len(_chunks(out / store_layout.CROSSLINE_GROUP)) == 3 * 4
    survey = open_survey(out)
    np.testing.assert_array_equal(survey[AMPLITUDE].values, cube)
    # the same store from before manifests: the missing chunks lie where nothing is live
    as_legacy_store(out)
    assert not open_survey(out)[LIVE].values[:4].any()


def test_an_old_store_without_a_record_still_opens(make_segy, tmp_path, small_chunks):
    path = make_segy(inlines=range(1, 8))
    out = as_legacy_store(ingest_segy(path, tmp_path / "s.zarr"))
    expected = encoded_cube(np.arange(1, 8), np.arange(20, 24), 8)
    np.testing.assert_array_equal(open_survey(out)[AMPLITUDE].values, expected)


def test_an_old_store_missing_a_chunk_where_traces_are_live_is_refused(
    make_segy, tmp_path, small_chunks
):
    out = as_legacy_store(ingest_segy(make_segy(inlines=range(1, 8)), tmp_path / "s.zarr"))
    _chunks(out)[0].unlink()
    with pytest.raises(IncompleteStoreError, match=r"amplitude chunk 0/0/0 .* missing where live"):
        open_survey(out)


def test_an_old_store_with_a_torn_chunk_is_refused(make_segy, tmp_path, small_chunks):
    out = as_legacy_store(ingest_segy(make_segy(inlines=range(1, 8)), tmp_path / "s.zarr"))
    chunk = _chunks(out)[2]
    chunk.write_bytes(chunk.read_bytes()[:-4])
    with pytest.raises(
        IncompleteStoreError, match=r"amplitude chunk c[./]\S+ holds \d+ of its 2\d\d"
    ):
        open_survey(out)


def test_the_check_reads_no_chunk_data(make_segy, tmp_path, small_chunks, monkeypatch):
    out = ingest_segy(make_segy(inlines=range(1, 8)), tmp_path / "s.zarr")
    opened = []
    real = open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    store.check_complete(out)
    assert not [f for f in opened if "/c/" in f or "/c." in f]


def test_the_store_is_opened_without_a_cache(make_segy, tmp_path):
    survey = open_survey(ingest_segy(make_segy(), tmp_path / "s.zarr"))
    block = survey[AMPLITUDE][0:2].values  # a block, read as training reads them
    assert block.shape == (2, 4, 8)
    # xarray's cache would keep every array read whole in the Dataset (MemoryCachedArray)
    assert type(survey[AMPLITUDE].variable._data).__name__ != "MemoryCachedArray"
    assert not isinstance(survey[AMPLITUDE].variable._data, np.ndarray)


def test_the_check_is_cheap(make_segy, tmp_path, small_chunks):
    out = ingest_segy(make_segy(inlines=range(1, 41), crosslines=range(1, 41)), tmp_path / "s.zarr")
    assert len(_chunks(out)) == 40
    start = time.perf_counter()
    store.check_complete(out)
    assert time.perf_counter() - start < 1.0
