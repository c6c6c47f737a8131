"""provenance.json: config, versions, git commit and input fingerprints of every run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import facies
from facies import runtime
from facies.io.fingerprint import fingerprint
from facies.provenance import config_paths, git_state
from tests.helpers import facies as run_facies
from tests.helpers import make_checkpoint


def flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def test_segy_fingerprint_sees_headers_not_samples(make_segy):
    path = make_segy(ns=8)  # 5 x 4 traces of 240 + 8 * 4 bytes
    before = fingerprint(path)
    assert before["kind"] == "segy" and before["traces"] == 20
    assert before["size"] == path.stat().st_size
    trace = 240 + 8 * 4
    flip(path, 3600 + 7 * trace + 240 + 5)  # a sample of the 8th trace
    assert fingerprint(path)["checksum"] == before["checksum"]
    flip(path, 3600 + 7 * trace + 72)  # a byte of its trace header (source x)
    changed = fingerprint(path)
    assert changed["checksum"] != before["checksum"]
    flip(path, 3600 + 7 * trace + 72)  # back
    flip(path, 100)  # the textual header
    assert fingerprint(path)["checksum"] != before["checksum"]


def test_other_files_by_size_head_and_tail(tmp_path):
    path = tmp_path / "traces.npy"
    np.save(path, np.zeros((3, 2**19), np.float32))  # 6 MiB: head, tail and an unread middle
    before = fingerprint(path)
    assert before["kind"] == "file" and before["size"] == path.stat().st_size
    flip(path, path.stat().st_size - 10)
    assert fingerprint(path)["checksum"] != before["checksum"]
    not_segy = tmp_path / "notes.sgy"  # a SEG-Y suffix on something else: head and tail
    not_segy.write_text("not seismic")
    assert fingerprint(not_segy)["kind"] == "file"


def test_a_store_by_its_metadata_and_sizes(make_segy, tmp_path):
    from facies.io.store import ingest_segy

    store = ingest_segy(make_segy(), tmp_path / "survey.zarr")
    before = fingerprint(store)
    assert before["kind"] == "folder" and before["files"] > 3
    assert fingerprint(store) == before
    meta = store / "zarr.json"
    meta.write_text(meta.read_text().replace("}", " }", 1))
    assert fingerprint(store)["checksum"] != before["checksum"]


def test_config_paths_are_existing_path_like_strings(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.sgy").write_bytes(b"x")
    (tmp_path / "cpu").write_bytes(b"x")  # a file named like an option value
    config = {
        "input": "data/a.sgy",
        "missing": "data/b.sgy",
        "device": "cpu",
        "runs": [str(tmp_path / "data"), "nope/x"],
        "nested": {"checkpoint": str(tmp_path / "data" / "a.sgy")},
        "overlap": 0.5,
    }
    found = config_paths(config, tmp_path)
    assert found == {
        "input": tmp_path / "data" / "a.sgy",
        "runs[0]": tmp_path / "data",
        "nested.checkpoint": tmp_path / "data" / "a.sgy",
    }


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


def test_git_commit_inside_a_checkout_and_none_outside(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    package = repo / "facies"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    git(repo, "init", "-q")
    assert git_state(package) is None  # a repository that does not track the package yet
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    state = git_state(package)
    assert state == {"commit": git(repo, "rev-parse", "HEAD"), "dirty": False,
                     "root": str(repo.resolve())}  # fmt: skip
    (package / "__init__.py").write_text("x = 1\n")
    assert git_state(package)["dirty"] is True
    outside = tmp_path / "site-packages" / "facies"
    outside.mkdir(parents=True)
    assert git_state(outside) is None


def test_a_run_records_config_versions_git_and_inputs(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 5), crosslines=range(1, 5), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "facies.sgy"
    run = run_facies("predict", f"checkpoint={ckpt}", f"input={path.name}", f"output={out}",
                     "figure=false", "hydra.run.dir=run", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert record["status"] == "finished" and record["job"] == "predict"
    assert record["facies_version"] == facies.__version__
    assert record["command"].startswith("facies predict checkpoint=")
    assert f"input={path.name}" in record["overrides"]
    assert record["config"]["input"] == path.name and record["config"]["overlap"] == 0.5
    assert record["git"] == git_state()  # this checkout's commit, or None for an install
    assert record["packages"]["torch"]
    assert record["inputs"]["input"] == fingerprint(path)
    assert record["inputs"]["checkpoint"] == fingerprint(ckpt)
    assert "output" not in record["inputs"] and record["outputs"]["output"] == fingerprint(out)


def test_a_failed_run_says_why_and_jobs_without_a_run_folder_write_none(make_segy, tmp_path):
    run = run_facies("predict", "input=nothing.sgy", "hydra.run.dir=run", cwd=tmp_path)
    assert run.returncode == 2
    record = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert record["status"] == "failed" and "needs checkpoint=" in record["error"]
    assert record["inputs"] == {}
    path = make_segy()
    assert run_facies("info", f"input={path}", cwd=tmp_path).returncode == 0
    assert list(tmp_path.glob("**/provenance.json")) == [tmp_path / "run" / "provenance.json"]


def test_other_ranks_write_nothing(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert not runtime.is_primary_process()
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("SLURM_PROCID", "0")
    assert runtime.is_primary_process()
