"""The lecture's claim, on seismic-like traces: an RNN's gradient vanishes along the trace,
an LSTM's (with its forget gates open) does not."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from facies.cli import main
from facies.errors import ConfigError
from facies.io.store import ingest_segy
from facies.jobs import JOBS, Job
from facies.jobs.gradflow import run
from facies.runtime import compose
from facies.sources.synthetic import synthetic_arrays
from facies.studies.gradflow import (
    decay,
    gradient_flow,
    init_lstm,
    plot_gradient_flow,
    unit_rms_traces,
)

SAMPLES, TRACES, HIDDEN = 200, 32, 32
DISTANCE = 100  # samples: half the trace, 400 ms at 4 ms
# Measured at DISTANCE for model seeds 0..7 on these traces (log10 of grad(t)/grad(0)):
#   RNN, torch default init:    -20.1 to -27.6 (seed 0: -21.8); roughly 0.6 per step,
#                               the recurrent Jacobian's gain at init.
#   LSTM, chrono init:          -0.58 to -2.48 (seed 0: -0.58); the long-memory units'
#                               forget gates (up to 1 - 1/200) keep the cell path open.
#   LSTM, torch default init:   -19.7 to -21.0; forget gates near 0.5, no better than the RNN.
#   LSTM, forget bias 1:        -6.1 to -9.5; f near 0.73 only slows the decay.
# The bounds sit orders of magnitude from every measured value except the LSTM's worst
# seed (3x), which is deterministic here; seed 0, the job's default, clears 1e2 by 26x.
RNN_MAX, LSTM_MIN = 1e-15, 1e-3


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def traces() -> np.ndarray:
    amplitude, _, _ = synthetic_arrays(n_inlines=16, n_crosslines=16, n_samples=SAMPLES, seed=0)
    return unit_rms_traces(amplitude, TRACES, SAMPLES, seed=0)


@pytest.fixture(scope="module")
def flow(traces: np.ndarray) -> dict:
    return gradient_flow(traces, hidden_size=HIDDEN, seed=0)


def test_traces_are_drawn_cut_and_normalised(traces: np.ndarray) -> None:
    assert traces.shape == (TRACES, SAMPLES) and traces.dtype == np.float32
    np.testing.assert_allclose(np.sqrt((traces.astype(np.float64) ** 2).mean(1)), 1, rtol=1e-5)
    amplitude, _, _ = synthetic_arrays(n_inlines=16, n_crosslines=16, n_samples=SAMPLES, seed=0)
    np.testing.assert_array_equal(unit_rms_traces(amplitude, TRACES, SAMPLES, seed=0), traces)
    assert unit_rms_traces(amplitude, 4, 50, seed=1).shape == (4, 50)


def test_result_is_plain_lists_of_finite_positive_norms(flow: dict) -> None:
    assert flow["distance"] == list(range(SAMPLES))
    for model in ("rnn", "lstm"):
        values = flow[model]
        assert isinstance(values, list) and len(values) == SAMPLES
        assert all(math.isfinite(v) and v > 0 for v in values), model
    json.dumps(flow)  # plain containers only


def test_rnn_gradient_vanishes_where_the_lstm_gradient_survives(flow: dict) -> None:
    summary = decay(flow, DISTANCE)
    assert summary["rnn"] < RNN_MAX, summary
    assert summary["lstm"] > 1e-2, summary  # seed 0: within two orders of magnitude
    assert summary["lstm"] / summary["rnn"] > 1e12, summary
    # Not a fluke of one distance: the RNN keeps falling, the LSTM stays far above it.
    far = decay(flow, SAMPLES - 1)
    assert far["rnn"] < summary["rnn"] * 1e-10
    assert all(r < m for r, m in zip(flow["rnn"][20:], flow["lstm"][20:], strict=True))


@pytest.mark.parametrize("seed", range(1, 8))
def test_the_gap_holds_for_other_model_seeds(traces: np.ndarray, seed: int) -> None:
    summary = decay(gradient_flow(traces, hidden_size=HIDDEN, seed=seed), DISTANCE)
    assert summary["rnn"] < RNN_MAX and summary["lstm"] > LSTM_MIN, summary


def test_the_lstm_advantage_comes_from_its_forget_gates(traces: np.ndarray, flow: dict) -> None:
    default = decay(gradient_flow(traces, hidden_size=HIDDEN, seed=0, init="torch"), DISTANCE)
    assert default["lstm"] < 1e-10, default  # f near 0.5: vanishes like the RNN's
    assert default["rnn"] == decay(flow, DISTANCE)["rnn"]  # the RNN does not depend on init


def test_init_sets_the_documented_biases() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(1, 8)
    init_lstm(lstm, "forget_bias", 200, torch.Generator().manual_seed(0))
    forget = lstm.bias_ih_l0[8:16] + lstm.bias_hh_l0[8:16]
    torch.testing.assert_close(forget, torch.ones(8))
    init_lstm(lstm, "chrono", 200, torch.Generator().manual_seed(0))
    b_f = lstm.bias_ih_l0[8:16] + lstm.bias_hh_l0[8:16]
    b_i = lstm.bias_ih_l0[:8] + lstm.bias_hh_l0[:8]
    assert b_f.min() >= 0 and b_f.max() <= math.log(199)
    torch.testing.assert_close(b_i, -b_f)


def test_plot_is_written(flow: dict, tmp_path: Path) -> None:
    path = plot_gradient_flow(flow, tmp_path / "gradflow.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_say_what_to_change(traces: np.ndarray, flow: dict) -> None:
    with pytest.raises(ConfigError, match=r"distance 500 .* 0 to 199"):
        decay(flow, 500)
    with pytest.raises(ConfigError, match="unknown LSTM init 'xavier'"):
        gradient_flow(traces[:2, :10], init="xavier")
    with pytest.raises(ConfigError, match=r"got shape \(2, 10, 3\)"):
        gradient_flow(np.zeros((2, 10, 3)))
    with pytest.raises(ConfigError, match=r"traces=1\.\.256"):
        unit_rms_traces(np.ones((16, 16, 20)), 300, 20)
    with pytest.raises(ConfigError, match="length from 2 to 20"):
        unit_rms_traces(np.ones((16, 16, 20)), 3, 50)


def job_config(*overrides: str):
    return compose("gradflow", overrides)


def test_job_writes_json_and_figure_and_prints_the_decay(tmp_path: Path, capsys) -> None:
    result = run(job_config(f"output={tmp_path}", "traces=8", "length=60"))
    saved = json.loads((tmp_path / "gradflow.json").read_text())
    assert saved["distance"] == list(range(60)) and saved["traces"] == 8
    assert saved["input"] == "synthetic" and saved["init"] == "chrono"
    assert [row["distance"] for row in saved["decay"]] == [5, 14, 29, 44]
    assert saved["rnn"] == pytest.approx(result["rnn"])
    assert (tmp_path / "gradflow.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "gradient flow over 8 traces of 60 samples" in out and "gradflow.png" in out


def test_job_reads_npy_segy_and_store_alike(tmp_path: Path, make_segy) -> None:
    """The same cube as .npy, SEG-Y and store: the same traces are drawn, the same result."""
    cube, _, _ = synthetic_arrays(n_inlines=8, n_crosslines=8, n_samples=40, seed=3)
    np.save(tmp_path / "cube.npy", cube)
    segy = make_segy("cube.sgy", inlines=range(1, 9), crosslines=range(1, 9), ns=40, cube=cube)
    store = ingest_segy(segy, tmp_path / "cube.zarr")
    curves = {}
    for source in (tmp_path / "cube.npy", segy, store):
        out = tmp_path / f"out_{source.suffix[1:]}"
        run(job_config(f"input={source}", f"output={out}", "traces=6", "length=30"))
        curves[source.suffix] = json.loads((out / "gradflow.json").read_text())["lstm"]
    assert curves[".sgy"] == pytest.approx(curves[".npy"], rel=1e-6)
    assert curves[".zarr"] == pytest.approx(curves[".npy"], rel=1e-6)


def test_job_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        run(job_config(f"input={tmp_path / 'missing.sgy'}", f"output={tmp_path}"))
    with pytest.raises(ConfigError, match="use traces>=1"):
        run(job_config("traces=0", f"output={tmp_path}"))
    np.save(tmp_path / "short.npy", np.ones((4, 40), dtype=np.float32))
    with pytest.raises(ConfigError, match="length from 2 to 40"):
        run(job_config(f"input={tmp_path / 'short.npy'}", f"output={tmp_path}", "traces=2"))


def test_command_writes_into_its_hydra_run_folder(tmp_path: Path, monkeypatch) -> None:
    if "gradflow" not in JOBS:  # the registry line may land separately
        monkeypatch.setitem(JOBS, "gradflow", Job("facies.jobs.gradflow", "gradient flow"))
    monkeypatch.chdir(tmp_path)
    assert main(["gradflow", "traces=4", "length=30"]) == 0
    (run_dir,) = (tmp_path / "outputs" / "gradflow").iterdir()
    assert json.loads((run_dir / "gradflow.json").read_text())["traces"] == 4
    assert (run_dir / "gradflow.png").exists()
