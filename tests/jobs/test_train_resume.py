"""Kill `facies train` with SIGKILL after its first checkpoint, resume, and finish."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from facies.training.checkpoint import read_checkpoint
from tests.helpers import FACIES_COMMAND, TINY_TRAIN, facies, source_env

ONE_THREAD = source_env({**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def logged_rows(run: Path) -> list[dict[str, str]]:
    with (run / "logs" / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    killed = tmp_path / "killed"
    args = [*FACIES_COMMAND, "train", *TINY_TRAIN, "trainer.max_epochs=50",
            f"hydra.run.dir={killed}"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=tmp_path, env=ONE_THREAD,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists():
        if proc.poll() is not None:
            pytest.fail(f"facies train ended (rc {proc.returncode}):\n{proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no checkpoint within 240 s")
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group, as a scheduler would
    proc.communicate()

    # whole, never torn (AtomicCheckpointIO writes beside it, then renames): it loads
    saved = read_checkpoint(last)  # (weights_only=True)
    epoch, step = saved["epoch"], saved["global_step"]
    assert 0 <= epoch < 49 and step > 0
    per_epoch = step // (epoch + 1)
    assert step == per_epoch * (epoch + 1)
    assert not (killed / "metrics.json").exists()
    assert json.loads((killed / "provenance.json").read_text())["status"] == "running"

    max_epochs = epoch + 3  # two more epochs
    run = facies("train", *TINY_TRAIN, f"trainer.max_epochs={max_epochs}", f"resume={last}",
                 "hydra.run.dir=resumed", cwd=tmp_path, env=ONE_THREAD)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    resumed = tmp_path / "resumed"
    assert "Restoring states from the checkpoint" in run.stdout + run.stderr

    rows = logged_rows(resumed)
    train = [r for r in rows if r.get("train/loss")]
    assert int(train[0]["epoch"]) == epoch + 1  # not epoch 0: continued, not restarted
    assert int(train[0]["step"]) == step  # the global step continues too
    assert len(train) == 2 * per_epoch  # exactly the two epochs left, nothing done twice
    assert {int(r["epoch"]) for r in rows if r.get("val/miou")} == {epoch + 1, epoch + 2}

    final = read_checkpoint(resumed / "checkpoints" / "last.ckpt")
    assert final["epoch"] == max_epochs - 1
    assert final["global_step"] == step + 2 * per_epoch
    metrics = json.loads((resumed / "metrics.json").read_text())
    assert metrics["epochs"] == max_epochs and 0 <= metrics["test"]["miou"] <= 1
    for name in ("checkpoints/best.ckpt", "training_curves.png", "confusion_matrix.png",
                 "test_section.png"):  # fmt: skip
        assert (resumed / name).is_file(), name
    record = json.loads((resumed / "provenance.json").read_text())
    assert record["status"] == "finished"
    assert record["inputs"]["resume"]["path"] == str(last.resolve())
