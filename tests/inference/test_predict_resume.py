"""Kill `facies predict` with SIGKILL, then resume: no torn output, no block done twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from facies.data.normalization import NormStats
from facies.errors import OutputError
from facies.inference import prediction_store as ps
from facies.inference.predict import PredictOptions, predict_survey
from facies.inference.reader import SurveyReader
from facies.training.checkpoint import load_network
from tests.helpers import CLASSES, FACIES_COMMAND, facies, make_checkpoint, source_env

STATS = NormStats(-2000.0, 2000.0, 2000.0)
ONE_THREAD = source_env({**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def wait_for(condition, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"facies predict ended (rc {proc.returncode}) too soon:\n{err[-2000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no block finished in time")
        time.sleep(0.01)


def test_killed_predict_leaves_no_output_and_resume_skips_finished_blocks(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 25), crosslines=range(1, 17), ns=32)  # 6 blocks
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    common = [f"checkpoint={ckpt}", f"input={path}", "block_inlines=4", "batch_size=4",
              "directions=[inline,crossline]", "figure=false"]  # fmt: skip
    store, out = tmp_path / "p.zarr", tmp_path / "facies.sgy"
    args = [*FACIES_COMMAND, "predict", *common, f"store={store}", f"output={out}"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=ONE_THREAD, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    markers = ps.done_dir(store)
    # finished markers only: a glob would also match the temporary ".0_4.<id>.tmp"
    wait_for(lambda: bool(ps.done_blocks(store)), proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group, as a scheduler would
    proc.communicate()
    assert not out.exists()  # nothing at the output path, not even a torn file
    done = {f"{a}_{b}": (markers / f"{a}_{b}").stat().st_mtime_ns for a, b in ps.done_blocks(store)}
    assert 0 < len(done) < 6, done  # killed part way

    resumed = facies("predict", *common, f"store={store}", f"output={out}", "resume=true",
                     cwd=tmp_path, env=ONE_THREAD)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert f"resume: skipped {len(done)} of 6 block(s)" in log, log[-3000:]
    for name, mtime in done.items():  # finished blocks were not written again
        assert (markers / name).stat().st_mtime_ns == mtime
    assert len(ps.done_blocks(store)) == 6

    clean_out = tmp_path / "clean.sgy"
    clean = facies("predict", *common, f"output={clean_out}", cwd=tmp_path, env=ONE_THREAD)
    assert clean.returncode == 0, clean.stderr[-3000:]
    assert out.read_bytes() == clean_out.read_bytes()


def tiny_predict(path, store, *, resume=False, fingerprint=None, **options):
    net, _ = load_network(make_checkpoint(store.parent / "m.ckpt"))
    opts = PredictOptions(**{"window": (8, 8), "block_inlines": 4, **options})
    reader = SurveyReader(path)
    predict_survey(net, reader, STATS, CLASSES, store, opts, resume=resume,
                   fingerprint=fingerprint)  # fmt: skip


def fingerprint_of(ckpt, path, fingerprints=None, **options):
    options = {"window": [8, 8], "overlap": 0.5, **options}
    return ps.run_fingerprint(ckpt, path, options, fingerprints=fingerprints)


def test_a_store_from_another_checkpoint_input_or_options_is_refused(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 9), crosslines=range(1, 6), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    store = tmp_path / "p.zarr"
    tiny_predict(path, store, fingerprint=fingerprint_of(ckpt, path))
    tiny_predict(path, store, resume=True, fingerprint=fingerprint_of(ckpt, path))  # same: fine
    with pytest.raises(OutputError, match=r"different options \(overlap: 0.5 -> 0.75\)"):
        tiny_predict(path, store, resume=True, fingerprint=fingerprint_of(ckpt, path, overlap=0.75))
    other = make_checkpoint(tmp_path / "other.ckpt", norm_stats={"low": -1, "high": 1, "scale": 1})
    with pytest.raises(OutputError, match=r"different checkpoint.*another store="):
        tiny_predict(path, store, resume=True, fingerprint=fingerprint_of(other, path))
    raw = bytearray(path.read_bytes())
    raw[3600 + 183] ^= 1  # first trace's CDP x (bytes 181-184): another survey
    path.write_bytes(bytes(raw))
    with pytest.raises(OutputError, match=r"different input"):
        tiny_predict(path, store, resume=True, fingerprint=fingerprint_of(ckpt, path))


def test_a_copy_or_touched_input_resumes(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 9), crosslines=range(1, 6), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    store = tmp_path / "p.zarr"
    tiny_predict(path, store, fingerprint=fingerprint_of(ckpt, path))
    copy = tmp_path / "node2" / "cube.sgy"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)  # as cp without -p, or a copy per node
    os.utime(copy, ns=(10**9, 10**9))  # and touched: another modification time for sure
    assert copy.stat().st_mtime_ns != path.stat().st_mtime_ns
    found = fingerprint_of(ckpt, copy)
    assert found == fingerprint_of(ckpt, path) and "mtime_ns" not in found["input"]
    tiny_predict(copy, store, resume=True, fingerprint=found)
    assert ps.done_blocks(store) == {(0, 4), (4, 8)}


def test_the_input_trace_headers_are_read_once_per_run(make_segy, tmp_path, monkeypatch):
    from facies.io import fingerprint as fp

    path = make_segy(inlines=range(1, 9), crosslines=range(1, 6), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    cache = fp.FingerprintCache(settled_ns=0)  # the file was written just now
    reads = []
    checksum = fp.segy_headers_checksum
    monkeypatch.setattr(fp, "segy_headers_checksum", lambda p: reads.append(p) or checksum(p))
    recorded = fp.fingerprint(path, cache)  # provenance.json, when the job starts
    found = fingerprint_of(ckpt, path, cache)  # the prediction store's, later in the same run
    assert len(reads) == 1
    assert found["input"] == {k: v for k, v in recorded.items() if k != "path"}
    found["input"]["size"] = -1  # callers own what they get: the remembered one is intact
    assert fingerprint_of(ckpt, path, cache)["input"]["size"] == path.stat().st_size
    raw = bytearray(path.read_bytes())
    raw[3600 + 183] ^= 1  # first trace's CDP x: another survey, written as a new file
    new = tmp_path / "new.sgy"
    new.write_bytes(bytes(raw))
    os.replace(new, path)
    assert fingerprint_of(ckpt, path, cache)["input"]["checksum"] != recorded["checksum"]
    assert len(reads) == 2


def test_a_store_without_a_fingerprint_is_refused(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 9), crosslines=range(1, 6), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    survey_store = tmp_path / "survey.zarr"
    from facies.io.store import ingest_segy

    ingest_segy(path, survey_store)  # a survey store given as store= by mistake
    with pytest.raises(OutputError, match="is not a prediction store made by facies predict"):
        tiny_predict(path, survey_store, fingerprint=fingerprint_of(ckpt, path))


def test_markers_of_a_removed_store_do_not_count(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 9), crosslines=range(1, 6), ns=8)
    store = tmp_path / "p.zarr"
    tiny_predict(path, store)
    assert ps.done_blocks(store) == {(0, 4), (4, 8)}
    shutil.rmtree(store)  # the markers beside it stay
    net, _ = load_network(make_checkpoint(tmp_path / "m.ckpt"))
    opts = PredictOptions(window=(8, 8), block_inlines=4)
    predict_survey(net, SurveyReader(path), STATS, CLASSES, store, opts, (0, 4), resume=True)
    assert ps.done_blocks(store) == {(0, 4)}  # the old 4_8 marker belongs to the old store
    facies_values = ps.open_prediction(store)[ps.FACIES].values
    assert (facies_values[4:] == ps.NO_TRACE).all()
    assert (facies_values[:4] >= 0).all()
    np.testing.assert_array_equal(ps.covered_inlines(store, 8), [True] * 4 + [False] * 4)
