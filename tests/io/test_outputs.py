"""The output-safety rule (facies.io.outputs): never over an input, overwrite only what
facies made, checked before the work, nothing half-made on a full disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from facies.errors import OutputError
from facies.inference import prediction_store
from facies.io import outputs, store
from facies.io.outputs import DiskFullError, prepare_output
from facies.io.segy import writer as segy_writer
from facies.io.store import ingest_segy
from tests.helpers import snapshot


def test_the_marks_agree_with_the_stores_that_carry_them():
    assert outputs.SURVEY_STORE_MARK == store.STORE_RECORD
    assert outputs.PREDICTION_STORE_MARK == prediction_store.STORE_ID


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "relative"])
def test_an_input_is_never_an_output(tmp_path, how, monkeypatch):
    source = tmp_path / "in.sgy"
    source.write_bytes(b"x" * 10)
    out = {
        "same": source,
        "symlink": tmp_path / "link.sgy",
        "hardlink": tmp_path / "hard.sgy",
        "relative": Path("sub/../in.sgy"),
    }[how]
    if how == "symlink":
        out.symlink_to(source)
    if how == "hardlink":
        os.link(source, out)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(OutputError, match=r"an input of this run.*even with overwrite=true"):
        prepare_output(out, kind=outputs.FILE, overwrite=True, inputs=[source])
    assert source.read_bytes() == b"x" * 10


def test_a_folder_holding_an_input_or_a_path_inside_one_is_never_an_output(tmp_path):
    folder = tmp_path / "project"
    (folder / "deep").mkdir(parents=True)
    source = folder / "deep" / "in.sgy"
    source.write_bytes(b"x")
    for out in (folder, folder / "deep", tmp_path):
        with pytest.raises(OutputError, match="is a folder holding"):
            prepare_output(out, kind=outputs.STORE, overwrite=True, inputs=[source])
    store_input = tmp_path / "survey.zarr"
    store_input.mkdir()
    with pytest.raises(OutputError, match="lies inside"):
        prepare_output(store_input / "facies.sgy", kind=outputs.FILE, inputs=[store_input])


def test_overwrite_replaces_only_what_facies_made(make_segy, tmp_path):
    user_file = tmp_path / "notes.sgy"
    user_file.write_bytes(b"mine")
    user_folder = tmp_path / "mine.zarr"
    user_folder.mkdir()
    (user_folder / "a.txt").write_text("mine")
    for path, kind in ((user_file, outputs.FILE), (user_folder, outputs.STORE)):
        with pytest.raises(OutputError, match="exists; pass overwrite=true"):
            prepare_output(path, kind=kind)
        with pytest.raises(OutputError, match=r"not made by facies.*replaces only"):
            prepare_output(path, kind=kind, overwrite=True)
    survey = ingest_segy(make_segy(), tmp_path / "s.zarr")
    assert outputs.made_by_facies(survey) == "survey store"
    prepare_output(survey, kind=outputs.STORE, overwrite=True)  # facies' own: fine
    with pytest.raises(OutputError, match="is a survey store; overwrite=true replaces only a"):
        prepare_output(survey, kind=outputs.STORE, overwrite=True, replaceable="prediction store")


def test_a_file_is_not_written_where_a_folder_stands_nor_a_store_over_a_file(tmp_path):
    (tmp_path / "out.sgy").mkdir()
    with pytest.raises(OutputError, match=r"is a folder; output= names the file to write"):
        prepare_output(tmp_path / "out.sgy", kind=outputs.FILE, overwrite=True)
    (tmp_path / "s.zarr").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a store folder"):
        prepare_output(tmp_path / "s.zarr", kind=outputs.STORE, overwrite=True)


def test_the_folder_is_made_or_refused_with_the_reason(tmp_path):
    out = prepare_output(tmp_path / "a" / "b" / "out.sgy", kind=outputs.FILE)
    assert out.parent.is_dir() and list(out.parent.iterdir()) == []  # the probe is gone
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="a file stands in its way"):
        prepare_output(tmp_path / "file" / "sub" / "out.sgy", kind=outputs.FILE)


def test_a_folder_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match=r"cannot write in .*ro \(Permission denied\)"):
        prepare_output(folder / "out.sgy", kind=outputs.FILE)


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="no /sys")
def test_a_read_only_location_is_refused_even_for_root():
    with pytest.raises(OutputError, match=r"output=/sys/facies-test/out.sgy: cannot"):
        prepare_output("/sys/facies-test/out.sgy", kind=outputs.FILE)


def test_too_little_room_is_said_before_the_work(tmp_path):
    with pytest.raises(DiskFullError, match=r"needs about .* free; free some space"):
        prepare_output(tmp_path / "out.sgy", kind=outputs.FILE, need_bytes=1 << 60)


def test_a_disk_that_fills_while_writing_leaves_nothing(make_segy, tmp_path, monkeypatch):
    template = make_segy()
    real = segy_writer.encode

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segy_writer, "encode", full)
    with pytest.raises(DiskFullError, match=r"out.sgy: the disk filled up .* free now"):
        segy_writer.write_segy_like(template, np.zeros((5, 4, 8)), tmp_path / "out.sgy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.sgy"]
    monkeypatch.setattr(segy_writer, "encode", real)


def test_a_store_replaced_is_deleted_never_moved_aside(make_segy, tmp_path):
    path = make_segy()
    out = ingest_segy(path, tmp_path / "s.zarr")
    ingest_segy(path, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.sgy", "s.zarr"]  # no .old


def test_remove_store_deletes_the_root_metadata_last(tmp_path, monkeypatch):
    folder = tmp_path / "s.zarr"
    (folder / "amplitude" / "c").mkdir(parents=True)
    (folder / "zarr.json").write_text("{}")
    (folder / "amplitude" / "zarr.json").write_text("{}")
    order = []
    real = Path.unlink

    def unlink(self, missing_ok=False):
        order.append(self.name)
        return real(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    outputs.remove_store(folder)
    assert order[-1] == "zarr.json" and not folder.exists()


def test_temporaries_match_only_facies_names(tmp_path):
    target = tmp_path / "s.zarr"
    ours = [tmp_path / ".s.zarr.0123abcd.tmp", tmp_path / ".s.zarr.deadbeef.tmp"]
    others = [tmp_path / ".s.zarr.notours.tmp", tmp_path / ".s.zarrx.0123abcd.tmp"]
    for path in ours + others:
        path.mkdir()
    assert outputs.temporaries(target) == sorted(ours)


def test_user_files_survive_every_refusal(make_segy, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    seismic = make_segy("project/seismic.sgy")
    (folder / "notes.txt").write_text("my notes")
    np.save(folder / "labels.npy", np.zeros((5, 4, 8), dtype=np.int16))
    before = snapshot(folder)
    for out in (folder, seismic, folder / "labels.npy", folder / "notes.txt"):
        with pytest.raises(OutputError):
            ingest_segy(seismic, out, labels=folder / "labels.npy", overwrite=True)
    assert snapshot(folder) == before
