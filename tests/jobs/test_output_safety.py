"""Every job that writes where a user points it follows one rule: never over an input or
a folder holding one, overwrite=true only over what facies made, checked before the work,
nothing half-made when the disk fills. The user's files are all there afterwards."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest

from facies.errors import OutputError
from facies.io import outputs
from facies.io.outputs import DiskFullError
from facies.io.store import OWNER_FILE, ingest_segy
from facies.sources import synthetic
from facies.sources.synthetic import make_synthetic_survey
from tests.helpers import as_legacy_store, facies, make_checkpoint, snapshot

SMALL = {"n_inlines": 8, "n_crosslines": 8, "n_samples": 32, "figure": False}


@pytest.fixture
def project(make_segy, tmp_path):
    """A user's folder: a SEG-Y survey, its labels, class names and notes."""
    folder = tmp_path / "project"
    folder.mkdir()
    seismic = make_segy("project/seismic.sgy", inlines=range(1, 9), crosslines=range(1, 6))
    np.save(folder / "labels.npy", (np.arange(8 * 5 * 8).reshape(8, 5, 8) % 3).astype(np.int16))
    (folder / "classes.json").write_text(json.dumps(["a", "b", "c"]))
    (folder / "notes.txt").write_text("picked by hand, do not lose")
    return seismic


def _one_line_error(run, job: str) -> str:
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith(f"facies {job}: error:")]
    assert len(lines) == 1, run.stderr[-2000:]
    return lines[0]


# ------------------------------------------------------------------ ingest


@pytest.mark.parametrize("target", ["folder", "input", "labels", "parent"])
def test_ingest_never_writes_over_its_inputs_or_their_folders(project, tmp_path, target):
    folder = project.parent
    before, around = snapshot(folder), sorted(p.name for p in tmp_path.iterdir())
    output = {"folder": folder, "input": project, "labels": folder / "labels.npy",
              "parent": tmp_path}[target]  # fmt: skip
    run = facies("ingest", f"input={project}", f"labels={folder / 'labels.npy'}",
                 f"classes={folder / 'classes.json'}", f"output={output}", "overwrite=true",
                 cwd=tmp_path)  # fmt: skip
    line = _one_line_error(run, "ingest")
    assert "an input of this run" in line and "choose another output=" in line
    assert snapshot(folder) == before  # every byte of every file
    assert sorted(p.name for p in tmp_path.iterdir()) == around  # nothing hidden beside


def test_ingest_replaces_a_store_it_made_but_no_folder_of_the_users(project, tmp_path):
    mine = tmp_path / "mine.zarr"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    run = facies("ingest", f"input={project}", f"output={mine}", "overwrite=true", cwd=tmp_path)
    assert "not made by facies" in _one_line_error(run, "ingest")
    assert (mine / "keep.txt").read_text() == "mine"
    store = tmp_path / "s.zarr"
    for _ in range(2):  # made, then replaced: the old one deleted, never moved aside
        run = facies("ingest", f"input={project}", f"output={store}", "overwrite=true",
                     cwd=tmp_path)  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_ingest_fails_fast_on_an_output_it_cannot_write(project, tmp_path):
    (tmp_path / "a-file").write_text("x")
    for output, reason in (
        ("/sys/facies-test/s.zarr", "cannot"),
        (tmp_path / "a-file" / "s.zarr", "a-file is a file, not a folder"),
        (tmp_path / "a-file" / "sub" / "s.zarr", "a file stands in its way"),
        (tmp_path / "a-file", "is a file, not a store folder"),
    ):
        run = facies("ingest", f"input={project}", f"output={output}", "overwrite=true",
                     cwd=tmp_path)  # fmt: skip
        assert reason in _one_line_error(run, "ingest")
    assert (tmp_path / "a-file").read_text() == "x"


def test_a_killed_ingests_leftover_is_removed_and_a_foreign_one_reported(project, tmp_path, caplog):
    out = tmp_path / "s.zarr"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    killed = tmp_path / ".s.zarr.0123abcd.tmp"
    killed.mkdir()
    owner = {"host": socket.gethostname(), "pid": int(dead.stdout), "started": 0}
    (killed / OWNER_FILE).write_text(json.dumps(owner))
    foreign = tmp_path / ".s.zarr.89abcdef.tmp"
    foreign.mkdir()
    (foreign / OWNER_FILE).write_text(json.dumps({**owner, "host": "elsewhere"}))
    ingest_segy(project, out)
    assert not killed.exists()
    assert foreign.exists() and "left beside" in caplog.text
    # one this very process is writing: another ingest of the target is refused
    live = tmp_path / ".s.zarr.00000000.tmp"
    live.mkdir()
    (live / OWNER_FILE).write_text(json.dumps({**owner, "pid": os.getpid(), "started": 1e12}))
    with pytest.raises(OutputError, match=r"another facies ingest \(process \d+\) is writing"):
        ingest_segy(project, out, overwrite=True)


def test_a_full_disk_during_ingest_leaves_nothing(project, tmp_path, monkeypatch):
    from facies.io import store_layout

    real = store_layout.os.pwrite
    written = []

    def full(fd, data, offset):  # the disk fills up once the cube's chunk files begin
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(fd)
        return real(fd, data, offset)

    monkeypatch.setattr(store_layout.os, "pwrite", full)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DiskFullError, match=r"s.zarr: the disk filled up .* free now\); nothing"):
        ingest_segy(project, tmp_path / "s.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ------------------------------------------------------------------ predict


def test_predict_never_writes_over_its_inputs_and_checks_before_any_work(project, tmp_path):
    ckpt = make_checkpoint(tmp_path / "model.ckpt")
    folder = project.parent
    before, model = snapshot(folder), ckpt.read_bytes()
    (tmp_path / "a-dir.sgy").mkdir()
    (tmp_path / "notes").mkdir()  # a user's folder
    (tmp_path / "notes" / "n.txt").write_text("mine")
    cases = {
        f"output={ckpt}": "an input of this run",
        f"output={project}": "an input of this run",
        f"store={folder}": "is a folder holding",
        f"store={tmp_path / 'notes'}": "is not a prediction store made by facies predict",
        f"output={tmp_path / 'a-dir.sgy'}": "is a folder; output= names the file",
        "output=/sys/facies-test/facies.sgy": "cannot",
        f"output={folder / 'notes.txt'}": "not made by facies",
    }
    for arg, reason in cases.items():
        run = facies("predict", f"checkpoint={ckpt}", f"input={project}", arg, "overwrite=true",
                     cwd=tmp_path)  # fmt: skip
        assert reason in _one_line_error(run, "predict"), arg
        assert not list(tmp_path.glob("outputs/predict/*/prediction.zarr")), arg  # no work
    assert snapshot(folder) == before and ckpt.read_bytes() == model
    assert (tmp_path / "notes" / "n.txt").read_text() == "mine"


def test_predict_on_a_store_whose_source_moved(project, tmp_path):
    """The facies SEG-Y takes the headers the store kept; a store that keeps none (an
    older facies) is refused before any work, in one line that says what is needed."""
    ckpt = make_checkpoint(tmp_path / "model.ckpt", sample_interval=4.0)
    store = ingest_segy(project, tmp_path / "s.zarr")
    original = project.read_bytes()
    moved = tmp_path / "elsewhere.sgy"
    shutil.move(project, moved)
    out = tmp_path / "facies.sgy"
    run = facies("predict", f"checkpoint={ckpt}", f"input={store}", f"output={out}",
                 "figure=false", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert outputs.is_facies_segy(out) and moved.read_bytes() == original
    legend = json.loads(out.with_suffix(".legend.json").read_text())
    assert legend["headers_kept_in"] == str(store)
    # a store from before facies kept headers: refused, with what is needed
    shutil.rmtree(as_legacy_store(store) / "trace_header")
    runs = set(tmp_path.glob("outputs/predict/*/prediction.zarr"))
    run = facies("predict", f"checkpoint={ckpt}", f"input={store}", cwd=tmp_path)
    line = _one_line_error(run, "predict")
    assert f"ingested from {project}, which is gone" in line and "keeps no SEG-Y headers" in line
    assert "give input=<that SEG-Y file" in line and "write_segy=false" in line
    assert set(tmp_path.glob("outputs/predict/*/prediction.zarr")) == runs  # before any work
    # the fix: predict from the SEG-Y where it is now
    run = facies("predict", f"checkpoint={ckpt}", f"input={moved}", f"output={out}",
                 "figure=false", "overwrite=true", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_full_disk_while_predicting_keeps_finished_blocks_and_says_how_to_go_on(tmp_path):
    from facies.jobs import predict

    store = tmp_path / "p.zarr"
    full = pytest.raises(DiskFullError, match=r"p.zarr: writing failed .* resume=true store=")
    with full, predict._writing_store(store):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(ValueError), predict._writing_store(store):  # not an output error
        raise ValueError("x")


# ------------------------------------------------------------------ synth


def test_synth_overwrites_only_a_folder_of_its_own(tmp_path, project):
    folder = project.parent  # a user's folder that holds a seismic.sgy of theirs
    before = snapshot(folder)
    run = facies("synth", f"output={folder}", "overwrite=true", "n_inlines=8", "n_crosslines=8",
                 "n_samples=32", "figure=false", cwd=tmp_path)  # fmt: skip
    assert "not made by facies synth" in _one_line_error(run, "synth")
    assert snapshot(folder) == before
    ours = tmp_path / "synthetic"
    make_synthetic_survey(ours, **SMALL)
    make_synthetic_survey(ours, overwrite=True, seed=3, **SMALL)  # its own files: replaced
    (ours / "notes.txt").write_text("mine")  # ... unless something of the user's is there
    with pytest.raises(OutputError, match=r"holds notes.txt, not made by facies synth"):
        make_synthetic_survey(ours, overwrite=True, **SMALL)
    assert (ours / "notes.txt").read_text() == "mine"


def test_synth_refuses_a_file_or_a_read_only_place(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"output=\S+f is a file"):
        make_synthetic_survey(tmp_path / "f", **SMALL)
    with pytest.raises(OutputError, match="output=/sys/facies-test: cannot"):
        make_synthetic_survey("/sys/facies-test", **SMALL)


def test_a_full_disk_during_synth_leaves_nothing(tmp_path, monkeypatch):
    real = synthetic.plot_sections

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(synthetic, "plot_sections", full)
    with pytest.raises(DiskFullError, match="the disk filled up"):
        make_synthetic_survey(tmp_path / "s", **{**SMALL, "figure": True})
    assert list((tmp_path / "s").iterdir()) == []  # neither SEG-Y file is left
    monkeypatch.setattr(synthetic, "plot_sections", real)
