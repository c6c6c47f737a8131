"""Whole-survey prediction: coverage, exactness across blocks and processes, SEG-Y out."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from facies.data.normalization import NormStats
from facies.errors import CheckpointError, ConfigError
from facies.inference import checks
from facies.inference import prediction_store as ps
from facies.inference.predict import PredictOptions, plan, predict_survey
from facies.inference.reader import SurveyReader
from facies.io import open_segy
from facies.training.checkpoint import load_network
from tests.helpers import CLASSES, FACIES_COMMAND, encoded_cube, facies, make_checkpoint, source_env

STATS = NormStats(-2000.0, 2000.0, 2000.0)


def predict(path, store, **options):
    net, _ = load_network(make_checkpoint(store.parent / "m.ckpt"))
    defaults = {"window": (8, 8), "overlap": 0.5}
    opts = PredictOptions(**{**defaults, **options})
    predict_survey(net, SurveyReader(path), STATS, CLASSES, store, opts)
    return ps.open_prediction(store)


def test_every_live_sample_is_predicted_on_an_odd_sized_survey(make_segy, tmp_path):
    live = np.ones((7, 11), dtype=bool)
    live[2, 3] = live[6, :4] = False
    path = make_segy(inlines=range(1, 8), crosslines=range(1, 12), ns=13, live=live)
    result = predict(path, tmp_path / "p.zarr", block_inlines=3)
    facies = result[ps.FACIES].values
    assert facies.shape == (7, 11, 13)
    assert (facies[live] >= 0).all() and (facies[live] < 3).all()
    assert (facies[~live] == ps.NO_TRACE).all()
    confidence = result[ps.CONFIDENCE].values
    assert (confidence[live] >= 1 / 3 - 1e-6).all() and (confidence[live] <= 1).all()


@pytest.mark.parametrize("mode", ["sections", "windows"])
@pytest.mark.parametrize("directions", [("inline",), ("inline", "crossline")])
def test_blocks_do_not_change_the_result(make_segy, tmp_path, directions, mode):
    path = make_segy(inlines=range(1, 21), crosslines=range(1, 10), ns=16)
    one = predict(path, tmp_path / "a.zarr", block_inlines=100, directions=directions,
                  probabilities=True, mode=mode)  # fmt: skip
    many = predict(path, tmp_path / "b.zarr", block_inlines=3, directions=directions,
                   probabilities=True, mode=mode)  # fmt: skip
    np.testing.assert_allclose(one[ps.PROBABILITY].values, many[ps.PROBABILITY].values,
                               atol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(one[ps.FACIES].values, many[ps.FACIES].values)


def test_sections_mode_runs_whole_sections_padded_as_evaluation(make_segy, tmp_path):
    """Each inline section, normalised and padded with zeros after its last sample and
    trace to the size multiple (as Volume.cut pads evaluation's sections), in one pass."""
    import torch

    from facies.data.normalization import normalize

    path = make_segy(inlines=range(1, 6), crosslines=range(1, 11), ns=13)  # not multiples of 4
    result = predict(path, tmp_path / "p.zarr", probabilities=True, block_inlines=2)
    net, _ = load_network(tmp_path / "m.ckpt")
    amplitude = normalize(SurveyReader(path).read(0, 5), STATS).transpose(0, 2, 1)
    padded = np.zeros((5, 1, 16, 12), dtype=np.float32)
    padded[:, 0, :13, :10] = amplitude
    with torch.no_grad():
        expected = net(torch.from_numpy(padded)).softmax(dim=1)[:, :, :13, :10].numpy()
    got = result[ps.PROBABILITY].values  # (classes, inlines, crosslines, samples)
    np.testing.assert_allclose(got, expected.transpose(1, 0, 3, 2), atol=1e-5)
    with torch.no_grad():  # facies: the argmax of the logits, as evaluation takes them
        logits = net(torch.from_numpy(padded))[:, :, :13, :10].numpy()
    np.testing.assert_array_equal(result[ps.FACIES].values, logits.argmax(1).transpose(0, 2, 1))
    np.testing.assert_allclose(result[ps.CONFIDENCE].values, got.max(axis=0), atol=1e-6)


@pytest.mark.parametrize("directions", [("inline",), ("inline", "crossline")])
@pytest.mark.parametrize("probabilities", [False, True])
def test_reading_and_writing_beside_the_network_change_nothing(
    make_segy, tmp_path, directions, probabilities
):
    """overlap_io (the GPU's default): the same store as reading and writing in turn."""
    live = np.ones((11, 9), dtype=bool)
    live[3, 2] = live[8, :5] = False
    path = make_segy(inlines=range(1, 12), crosslines=range(1, 10), ns=13, live=live)
    common = {"block_inlines": 4, "directions": directions, "probabilities": probabilities}
    one = predict(path, tmp_path / "a.zarr", overlap_io=False, **common)
    two = predict(path, tmp_path / "b.zarr", overlap_io=True, **common)
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, two[name].values, err_msg=name)
    assert (one[ps.FACIES].values[~live] == ps.NO_TRACE).all()
    assert len(ps.done_blocks(tmp_path / "b.zarr")) == 3


def test_probabilities_asked_or_not_give_the_same_facies(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 6), crosslines=range(1, 11), ns=13)
    without = predict(path, tmp_path / "a.zarr")
    with_ = predict(path, tmp_path / "b.zarr", probabilities=True)
    assert ps.PROBABILITY not in without and ps.PROBABILITY in with_
    for name in (ps.FACIES, ps.CONFIDENCE):
        np.testing.assert_array_equal(without[name].values, with_[name].values)


def test_precision_is_checked(make_segy, tmp_path):
    with pytest.raises(ConfigError, match=r"precision must be one of \['float32', 'bfloat16'\]"):
        PredictOptions(window=(8, 8), precision="float16")
    path = make_segy(inlines=range(1, 4), crosslines=range(1, 5), ns=8)
    with pytest.raises(ConfigError, match="precision=bfloat16 is a GPU option"):
        predict(path, tmp_path / "p.zarr", precision="bfloat16")
    assert not (tmp_path / "p.zarr").exists()  # refused before any work


def test_a_section_over_the_memory_bound_is_tiled(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 4), crosslines=range(1, 41), ns=32)
    whole = predict(path, tmp_path / "a.zarr", probabilities=True)
    net, _ = load_network(make_checkpoint(tmp_path / "m.ckpt"))
    small = PredictOptions(window=(8, 8), memory_bytes=100_000)  # 160 bytes a pixel: 625 pixels
    assert plan(net, (3, 40, 32), small, "cpu").inline_tile == (24, 24)
    tiled = predict(path, tmp_path / "b.zarr", probabilities=True, memory_bytes=100_000)
    a, b = whole[ps.PROBABILITY].values, tiled[ps.PROBABILITY].values
    np.testing.assert_allclose(b.sum(axis=0), 1.0, atol=1e-5)
    assert 0 < np.abs(a - b).max() < 0.5  # tiles of the same network: close, not equal


def test_mismatched_sample_interval_or_classes_are_refused(make_segy, tmp_path):
    reader = SurveyReader(make_segy(sample_interval_us=2000))
    _, hp = load_network(make_checkpoint(tmp_path / "m.ckpt"))
    with pytest.raises(CheckpointError, match=r"sample interval 2 differs.*allow_mismatch"):
        checks.check_compatible(hp, reader)
    checks.check_compatible(hp, reader, allow_mismatch=True)


def test_amplitudes_unlike_the_training_ones_warn(make_segy, tmp_path, caplog):
    reader = SurveyReader(make_segy(cube=encoded_cube(range(10, 15), range(20, 24), 8) * 100))
    _, hp = load_network(make_checkpoint(tmp_path / "m.ckpt"))
    stats = checks.normalisation(hp, reader, "checkpoint")
    assert stats == STATS and "normalization=survey" in caplog.text
    assert checks.normalisation(hp, reader, "survey").scale > 100_000


def test_predict_job_writes_segy_with_the_input_headers(make_segy, tmp_path):
    live = np.ones((6, 5), dtype=bool)
    live[1, 1] = False
    path = make_segy(inlines=range(1, 7), crosslines=range(1, 6), ns=12, live=live,
                     sorting="crossline", format_code=1)  # fmt: skip
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "facies.sgy"
    run = facies("predict", f"checkpoint={ckpt}", f"input={path}", f"output={out}",
                 "segy.sample_interval=4", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    raw_in, raw_out = path.read_bytes(), out.read_bytes()
    text_in, text_out = raw_in[:3200].decode("cp037"), raw_out[:3200].decode("cp037")
    assert text_out.startswith("C 1 FACIES CLASS IDS")  # says what it holds ...
    assert "0=parallel 1=chaotic 2=transparent -1=no data" in text_out
    assert text_in[4:60].strip() in text_out  # ... with the input's own text below
    assert (tmp_path / "facies.legend.json").exists() and (tmp_path / "facies.colours.csv").exists()
    assert raw_out[3200:3224] == raw_in[3200:3224] and raw_out[3226:3600] == raw_in[3226:3600]
    trace_in, trace_out = 240 + 12 * 4, 240 + 12 * 2
    count = (len(raw_in) - 3600) // trace_in
    assert (len(raw_out) - 3600) // trace_out == count == 29  # missing trace still missing
    for k in range(count):
        a = raw_in[3600 + k * trace_in : 3600 + k * trace_in + 240]
        assert a == raw_out[3600 + k * trace_out : 3600 + k * trace_out + 240]
    labels = open_segy(out)["amplitude"].values
    assert set(np.unique(labels[live])) <= {0, 1, 2}


def test_two_processes_on_inline_ranges_match_one(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 13), crosslines=range(1, 7), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    common = [f"checkpoint={ckpt}", f"input={path}", "directions=[inline,crossline]"]
    store = tmp_path / "shared.zarr"
    parts = [
        subprocess.Popen([*FACIES_COMMAND, "predict", *common, f"store={store}",
                          f"inlines={rng}"], cwd=tmp_path, env=source_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for rng in ("[1,6]", "[7,12]")
    ]  # fmt: skip
    for part in parts:
        _, err = part.communicate(timeout=300)
        assert part.returncode == 0, err.decode()[-2000:]
    split_out = tmp_path / "split.sgy"
    final = facies("predict", *common, f"store={store}", "inlines=[1,12]", "write_segy=true",
                   "resume=true", f"output={split_out}", cwd=tmp_path)  # fmt: skip
    assert final.returncode == 0, final.stderr[-2000:]
    single_out = tmp_path / "single.sgy"
    single = facies("predict", *common, f"output={single_out}", cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-2000:]
    assert split_out.read_bytes() == single_out.read_bytes()


def test_predict_does_not_import_lightning(make_segy, tmp_path):
    path = make_segy()
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    code = (
        "import sys; from facies.cli import main; "
        f"main(['predict', 'checkpoint={ckpt}', 'input={path}']); "
        "print('LIGHTNING', 'lightning' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert "LIGHTNING False" in run.stdout, run.stderr[-2000:]


def test_segy_is_not_written_while_inlines_are_missing(make_segy, tmp_path):
    path = make_segy(inlines=range(1, 13), crosslines=range(1, 7), ns=8)
    ckpt = make_checkpoint(tmp_path / "m.ckpt")
    run = facies("predict", f"checkpoint={ckpt}", f"input={path}", f"store={tmp_path}/s.zarr",
                 "inlines=[1,6]", "write_segy=true", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2 and "6 inline(s) have no prediction yet" in run.stderr


def test_a_store_predicts_like_its_segy(make_segy, tmp_path):
    from facies.io.store import ingest_segy

    path = make_segy(inlines=range(1, 9), crosslines=range(1, 6), ns=8)
    store = ingest_segy(path, tmp_path / "survey.zarr")
    from_segy = predict(path, tmp_path / "a.zarr")[ps.FACIES].values
    from_store = predict(store, tmp_path / "b.zarr")[ps.FACIES].values
    np.testing.assert_array_equal(from_segy, from_store)
    assert SurveyReader(store).template == path.resolve()  # SEG-Y out uses the source headers


@pytest.mark.parametrize("neighbourhood", [0, 1])
def test_an_lstm_checkpoint_predicts_trace_by_trace(make_segy, tmp_path, neighbourhood):
    path = make_segy(inlines=range(1, 8), crosslines=range(1, 6), ns=12)
    model = {"name": "lstm", "hidden_size": 4, "num_layers": 1, "neighbourhood": neighbourhood}
    net, _ = load_network(make_checkpoint(tmp_path / "lstm.ckpt", model=model))
    store = tmp_path / "p.zarr"
    opts = PredictOptions(window=(8, 8), block_inlines=3, probabilities=True)
    predict_survey(net, SurveyReader(path), STATS, CLASSES, store, opts)
    result = ps.open_prediction(store)
    probs = result[ps.PROBABILITY].values
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(result[ps.FACIES].values, probs.argmax(axis=0))
