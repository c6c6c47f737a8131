"""SIGTERM and SIGINT (issue 14): a job stops within seconds, keeps what it wrote whole,
exits 128 + the signal and records ``"status": "interrupted"`` in provenance.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facies.inference import prediction_store as ps
from facies.runtime import Interrupted, handle_signals, interruptible, received_signal
from facies.training.checkpoint import read_checkpoint
from tests.helpers import CPU, TINY_TRAIN, make_checkpoint, source_env, wait_for_path

#: Seconds a stopped job may take to exit: the end of a batch and Lightning's teardown take
#: about 2 s on a busy 2-core machine; the bound leaves room for a loaded one.
STOP_S = 30
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """``facies <args>`` from the working tree, running in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "facies", *args],
        cwd=cwd,
        env=source_env(ONE_THREAD),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen, signum: int) -> tuple[float, str]:
    """Send ``signum``; (seconds until the process exited, its stderr)."""
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=STOP_S * 4)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"still running {STOP_S * 4} s after the signal")
    return time.monotonic() - sent, err


def provenance(run: Path) -> dict:
    return json.loads((run / "provenance.json").read_text())


# ----------------------------------------------------------------------------- in process


def test_a_stop_signal_raises_interrupted_with_the_exit_code():
    with handle_signals(), pytest.raises(Interrupted) as info:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises at once
    assert info.value.exit_code == 143 and info.value.signal_name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_at_batch_end_the_first_sigterm_waits_for_a_safe_point():
    with handle_signals():
        with pytest.raises(Interrupted) as info, interruptible("what was kept", True):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # noted, not raised: Lightning stops at the end of the batch
            noted = received_signal()
        assert noted == signal.SIGTERM
    assert info.value.hint == "what was kept" and "interrupted by SIGTERM; what" in (
        info.value.message()
    )


def test_a_second_sigterm_does_not_wait():
    with handle_signals(), pytest.raises(Interrupted), interruptible(at_batch_end=True):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)


# ---------------------------------------------------------------------------- facies train


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_train_stops_at_the_next_batch_and_keeps_last_ckpt(signum, code, tmp_path):
    proc = start("train", *TINY_TRAIN, *CPU, "trainer.max_epochs=1000", "hydra.run.dir=run",
                 cwd=tmp_path)  # fmt: skip
    last = wait_for_path("run/checkpoints/last.ckpt", tmp_path, proc)  # epoch 2 under way
    time.sleep(0.5)
    seconds, err = stop(proc, signum)
    assert proc.returncode == code, err[-3000:]
    assert seconds < STOP_S, seconds
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == (
        f"facies train: interrupted by {name}; the last checkpoint (end of the last whole "
        f"epoch) is {last.resolve()}; go on with resume={last.resolve()}"
    )
    assert "Traceback" not in err
    record = provenance(tmp_path / "run")
    assert record["status"] == "interrupted" and record["error"] == f"interrupted by {name}"
    assert read_checkpoint(last)["epoch"] >= 0  # whole: it loads
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not list(last.parent.glob(".*.tmp"))


def test_train_stopped_while_it_loads_the_survey(tmp_path):
    """Before training (the survey is being made): at once, as interrupted."""
    proc = start("train", *TINY_TRAIN, *CPU, "hydra.run.dir=run", cwd=tmp_path)
    wait_for_path("run/provenance.json", tmp_path, proc)
    seconds, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 143, err[-3000:]
    assert seconds < STOP_S
    assert "facies train: interrupted by SIGTERM" in err and "Traceback" not in err
    assert provenance(tmp_path / "run")["status"] == "interrupted"


# -------------------------------------------------------------------------- facies predict


def test_predict_stops_leaves_no_segy_and_resumes(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 97), crosslines=range(1, 17), ns=32)  # 96 blocks
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    store, out = tmp_path / "p.zarr", tmp_path / "facies.sgy"
    common = [f"checkpoint={ckpt}", f"input={path}", "block_inlines=1", "batch_size=4",
              "directions=[inline,crossline]", "figure=false", f"store={store}",
              f"output={out}"]  # fmt: skip
    proc = start("predict", *common, "hydra.run.dir=run", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not ps.done_blocks(store) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    seconds, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 143, err[-3000:]
    assert seconds < STOP_S
    assert err.strip().splitlines()[-1] == (
        f"facies predict: interrupted by SIGTERM; finished blocks are kept in {store}; go on "
        f"with resume=true store={store}"
    )
    assert not out.exists() and not list(tmp_path.glob(".facies.sgy.*"))  # no SEG-Y, no part
    assert provenance(tmp_path / "run")["status"] == "interrupted"
    done = len(ps.done_blocks(store))
    assert 0 < done < 96

    resumed = subprocess.run(
        [sys.executable, "-m", "facies", "predict", *common, "resume=true", "hydra.run.dir=r2"],
        cwd=tmp_path, env=source_env(ONE_THREAD), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resume: skipped {done} of 96 block(s)" in resumed.stdout + resumed.stderr
    assert out.is_file() and provenance(tmp_path / "r2")["status"] == "finished"
