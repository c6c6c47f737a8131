"""DDP on two CPU processes (gloo) through the facies command: one run folder, each test
section scored once, and the same confusion matrix as one process on the same checkpoint."""

from __future__ import annotations

import csv
import json
import os

import numpy as np

from tests.helpers import facies, run_folder

# 5 validation and 5 test sections: not divisible by the 2 ranks. batch_size=4 scores one
# section per batch, so one process and two see the very same batches.
DATA = [
    "data.synthetic.n_inlines=44",
    "data.synthetic.n_crosslines=24",
    "data.synthetic.n_samples=32",
    "data.patch=[16,16]",
    "data.stride=[16,16]",
    "data.batch_size=4",
    "data.splits.ranges={train:[0,16],val:[24,29],test:[37,42]}",
]
DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]


def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # what Lightning gives each of 2 ranks on 2 cores
    # The default model (conf/model/unet.yaml) on a tiny survey, for one epoch.
    run = facies("train", *DATA, *DDP, "trainer.max_epochs=1", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Starting with 2 processes" in run.stdout + run.stderr
    out = run_folder(run.stdout)
    assert run.stdout.count("run folder:") == 1  # rank 0 reports, rank 1 does not
    assert [p.name for p in (tmp_path / "outputs" / "train").iterdir()] == [out.name]
    assert (out / "train_ddp_process_1.log").is_file()  # rank 1 ran in rank 0's run folder
    metrics = json.loads((out / "metrics.json").read_text())
    ddp = np.asarray(metrics["confusion_matrix"])
    assert ddp.sum() == 5 * 24 * 32  # the 5 test sections, each scored once over both ranks
    with (out / "logs" / "metrics.csv").open(newline="") as fh:
        losses = [float(row["val/loss"]) for row in csv.DictReader(fh) if row.get("val/loss")]
    assert len(losses) == 1 and losses[0] > 0  # one epoch's, over both ranks' sections

    # on the CPU in float32, as the DDP run (trainer=auto would be bf16 on a GPU machine)
    single = facies("evaluate", f"checkpoint={out}/checkpoints/best.ckpt", *DATA, "trainer=cpu",
                    cwd=tmp_path, env=env)  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    evaluated = json.loads((run_folder(single.stdout) / "metrics.json").read_text())
    np.testing.assert_array_equal(np.asarray(evaluated["confusion_matrix"]), ddp)
    assert evaluated["test"] == metrics["test"]
