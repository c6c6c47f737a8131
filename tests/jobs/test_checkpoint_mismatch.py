"""A checkpoint trained at another sample interval (issue 14): evaluate and inspect refuse
it as predict does (one line, both intervals), unless allow_mismatch=true."""

from __future__ import annotations

import json

import pytest

from tests.helpers import CPU, TINY_DATA, facies, make_checkpoint, one_line_error, run_folder

#: The built-in synthetic survey's classes.
SYNTHETIC = ["parallel", "chaotic", "transparent", "high_amplitude", "clinoform", "thin_bedded"]
#: The tiny synthetic survey sampled at 2 ms.
TWO_MS = [*TINY_DATA, "+data.synthetic.sample_interval=2.0", *CPU]


@pytest.fixture
def four_ms(tmp_path):
    return make_checkpoint(tmp_path / "m.ckpt", class_names=SYNTHETIC, sample_interval=4.0)


def test_evaluate_refuses_a_4_ms_checkpoint_on_a_2_ms_survey(four_ms, tmp_path):
    run = facies("evaluate", f"checkpoint={four_ms}", *TWO_MS, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-3000:]
    line = one_line_error(run.stderr.replace("INFO: Seed set to 0\n", ""), "evaluate")
    assert "sample interval 2 differs from the training survey's 4" in line
    assert "pass allow_mismatch=true to score it anyway" in line
    assert not list((tmp_path / "outputs").rglob("metrics.json"))

    run = facies("evaluate", f"checkpoint={four_ms}", *TWO_MS, "allow_mismatch=true", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "(allowed by allow_mismatch=true)" in run.stderr + run.stdout
    metrics = json.loads((run_folder(run.stdout) / "metrics.json").read_text())
    assert 0 <= metrics["test"]["miou"] <= 1


def test_inspect_refuses_it_too(four_ms, tmp_path):
    two_ms = [*TINY_DATA, "+data.synthetic.sample_interval=2.0", "device=cpu"]
    run = facies("inspect", f"checkpoint={four_ms}", *two_ms, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-3000:]
    assert "sample interval 2 differs from the training survey's 4" in run.stderr
    assert "pass allow_mismatch=true to inspect it anyway" in run.stderr
    assert "Traceback" not in run.stderr
