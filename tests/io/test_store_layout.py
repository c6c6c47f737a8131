"""ChunkWriter writes the chunk files zarr would (byte for byte), in any block size; the
shared store writer leaves nothing behind when a write fails."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import xarray as xr
import zarr

from facies.io import store_layout
from facies.io.outputs import DiskFullError
from facies.io.store_layout import CHUNK_KEYS, ChunkWriter
from facies.io.store_writer import SurveyStoreWriter
from facies.names import CROSSLINE, INLINE, LIVE, SAMPLE

SHAPE = (7, 5, 13)  # nothing divides evenly: edge chunks are padded


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "zarr.json"
    }


def _pair(tmp_path, dtype="f4", **layout):
    group = zarr.open_group(tmp_path / "s.zarr", mode="w")
    options = {"shape": SHAPE, "dtype": dtype, "chunk_key_encoding": CHUNK_KEYS, **layout}
    return group.create_array("zarr", **options), group.create_array("ours", **options)


LAYOUTS = {
    "sections": {"chunks": (1, 5, 4), "compressors": None},
    "sharded sections": {"chunks": (1, 5, 4), "shards": (1, 5, 16), "compressors": None},
    "crossline copy": {"chunks": (7, 1, 13), "compressors": None},
    "crossline copy, 3 inlines": {"chunks": (3, 1, 13), "compressors": None},
    "compressed": {"chunks": (2, 5, 13)},
    "compressed shards": {"chunks": (1, 5, 13), "shards": (2, 5, 13)},
}


@pytest.mark.parametrize("block", [1, 2, 3, 7])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_chunk_files_are_zarrs_own(tmp_path, layout, block):
    values = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32) + 10
    theirs, ours = _pair(tmp_path, **LAYOUTS[layout])
    theirs[...] = values
    writer = ChunkWriter(ours)
    for start in range(0, SHAPE[0], block):
        writer.write(start, values[start : start + block])
    writer.close()
    assert writer.root is not None  # written by ChunkWriter, not handed to zarr
    np.testing.assert_array_equal(ours[...], values)
    assert _files(tmp_path / "s.zarr" / "ours") == _files(tmp_path / "s.zarr" / "zarr")


def test_fill_only_chunks_get_no_file_as_with_zarr(tmp_path):
    values = np.ones(SHAPE, np.int16)
    values[2:4] = -1  # the fill value
    theirs, ours = _pair(tmp_path, dtype="i2", fill_value=-1, **LAYOUTS["sections"])
    theirs[...] = values
    ChunkWriter(ours).write(0, values)
    assert _files(tmp_path / "s.zarr" / "ours") == _files(tmp_path / "s.zarr" / "zarr")
    # told which inlines hold only the fill value, it does not read them to find out
    theirs, hinted = _pair(tmp_path / "b", dtype="i2", fill_value=-1, **LAYOUTS["sections"])
    ChunkWriter(hinted).write(0, values, empty=np.all(values == -1, axis=(1, 2)))
    assert len(_files(tmp_path / "b" / "s.zarr" / "ours")) == 5 * 4
    np.testing.assert_array_equal(hinted[...], values)


def test_a_chunk_spanning_blocks_keeps_its_file_open_until_complete(tmp_path):
    _, ours = _pair(tmp_path, **LAYOUTS["crossline copy"])
    writer = ChunkWriter(ours)
    values = np.ones(SHAPE, np.float32)
    writer.write(0, values[:3])
    assert len(writer._files) == 5  # one a crossline: complete once inline 7 is written
    writer.write(3, values[3:])
    assert not writer._files
    assert store_layout._HELD["files"] == 0


def _meta(shape=SHAPE) -> xr.Dataset:
    nil, nxl, ns = shape
    coords = {INLINE: np.arange(nil), CROSSLINE: np.arange(nxl), SAMPLE: np.arange(ns) * 4.0}
    return xr.Dataset({LIVE: ((INLINE, CROSSLINE), np.ones((nil, nxl), bool))}, coords=coords)


def test_a_failed_write_leaves_nothing_and_closes_every_file(tmp_path, monkeypatch):
    real = store_layout.os.pwrite
    calls = []

    def full(fd, data, offset):  # the disk fills up after a few chunk files
        calls.append(fd)
        if len(calls) > 12:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(store_layout.os, "pwrite", full)
    values = np.ones(SHAPE, np.float32)
    live = np.ones(SHAPE[:2], bool)
    with (
        pytest.raises(DiskFullError, match=r"s\.zarr: the disk filled up"),
        SurveyStoreWriter(tmp_path / "s.zarr", _meta()) as writer,
    ):
        for start in range(SHAPE[0]):
            writer.write(start, values[start : start + 1].copy(), live[start : start + 1])
        writer.finish(live, {})
    assert list(tmp_path.iterdir()) == []
    assert store_layout._HELD["files"] == 0


def test_the_shared_writer_makes_a_whole_store(tmp_path):
    from facies.io.store import open_crossline_sections, open_survey

    values = np.random.default_rng(1).standard_normal(SHAPE).astype(np.float32)
    labels = np.random.default_rng(2).integers(0, 3, SHAPE).astype(np.int16)
    live = np.ones(SHAPE[:2], bool)
    live[4, 2] = False
    values[4, 2] = 0
    with SurveyStoreWriter(tmp_path / "s.zarr", _meta(), has_labels=True, ignore_label=-1) as w:
        for start in range(0, SHAPE[0], 3):
            rows = slice(start, start + 3)
            w.write(start, values[rows].copy(), live[rows], labels[rows].copy())
        w.finish(live, {"live_traces": int(live.sum())}, ["a", "b", "c"], "labels.npy")
    survey, copy = open_survey(tmp_path / "s.zarr"), open_crossline_sections(tmp_path / "s.zarr")
    expected = labels.copy()
    expected[4, 2] = -1  # not live: the ignore value
    for ds in (survey, copy):
        np.testing.assert_array_equal(ds.amplitude.values, values)
        np.testing.assert_array_equal(ds.labels.values, expected)
    np.testing.assert_array_equal(survey[LIVE].values, live)
    counts = np.bincount(labels[live].ravel(), minlength=3).tolist()
    assert survey.attrs["class_counts"] == counts
    assert survey.attrs["qc"]["class_counts"] == dict(zip("abc", counts, strict=True))
