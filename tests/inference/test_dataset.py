"""facies.predict_dataset: an xarray survey in any of the three conventions, predicted in
memory as `facies predict` predicts a file, on the input's own dims and coordinates."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import facies
from facies.errors import CheckpointError, FaciesError
from facies.io import open_segy
from facies.sources.synthetic import make_synthetic_survey
from tests.helpers import CLASSES, as_mdio, as_segysak, make_checkpoint

SHAPE = {"n_inlines": 10, "n_crosslines": 10, "n_samples": 32}  # square: a transposition shows
#: facies' dims, and what each convention calls them.
ALIASES = (("inline", "iline"), ("crossline", "xline"), ("sample", "samples", "time"))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survey")
    paths = make_synthetic_survey(folder / "synthetic", figure=False, **SHAPE).paths
    # statistics near the survey's amplitudes, so the untrained net predicts several classes
    stats = {"low": -2.5, "high": 2.5, "scale": 2.5}
    checkpoint = _varied(make_checkpoint(folder / "tiny.ckpt", norm_stats=stats))
    survey = open_segy(paths["seismic"])
    survey["labels"] = open_segy(paths["labels"])["amplitude"].astype(np.int16)
    return paths, checkpoint, survey


def _varied(checkpoint):
    """An untrained checkpoint whose head is scaled up, so it predicts several classes (an
    untrained one predicts about one everywhere, which no transposition would change)."""
    import torch

    saved = torch.load(checkpoint, weights_only=True)
    torch.manual_seed(0)
    head = saved["state_dict"]["net.head.weight"]
    saved["state_dict"]["net.head.weight"] = torch.randn_like(head) * 20
    torch.save(saved, checkpoint)
    return checkpoint


def _in_facies_order(values: xr.DataArray) -> np.ndarray:
    order = [next(d for d in values.dims if d in names) for names in ALIASES]
    return values.transpose(*order).values


def _predicted_from_segy(seismic, checkpoint, store) -> np.ndarray:
    """What `facies predict input=<seismic>` predicts (its defaults), in process."""
    from facies.inference import checks
    from facies.inference.predict import PredictOptions, predict_survey
    from facies.inference.reader import SurveyReader
    from facies.training.checkpoint import load_network

    net, hp = load_network(checkpoint)
    reader = SurveyReader(seismic)
    stats = checks.normalisation(hp, reader, "checkpoint")
    options = PredictOptions(window=tuple(hp["patch"]))
    predict_survey(net, reader, stats, list(hp["class_names"]), store, options)
    return xr.open_zarr(store)["facies"].values


def test_predict_dataset_equals_facies_predict_in_every_convention(made, tmp_path):
    paths, checkpoint, survey = made
    expected = _predicted_from_segy(paths["seismic"], checkpoint, tmp_path / "p.zarr")
    # several classes, not symmetric in inline and crossline: a transposition would show
    assert len(np.unique(expected)) > 1
    assert not np.array_equal(expected, expected.transpose(1, 0, 2))
    inputs = {
        "facies": survey,
        "facies array": survey["amplitude"],
        "mdio": as_mdio(survey),
        "segysak (xline, iline, samples)": as_segysak(survey, order=("xline", "iline", "samples")),
        "segysak array (samples, xline, iline)": as_segysak(
            survey, order=("samples", "xline", "iline")
        )["data"],
    }
    for what, data in inputs.items():
        got = facies.predict_dataset(data, checkpoint)["facies"]
        np.testing.assert_array_equal(_in_facies_order(got), expected, err_msg=what)


def test_the_result_is_on_the_input_dims_and_coordinates(made):
    _, checkpoint, survey = made
    data = as_segysak(survey, order=("xline", "iline", "samples"))
    result = facies.predict_dataset(data, checkpoint, probabilities=True)
    assert result["facies"].dims == ("xline", "iline", "samples")
    for name in ("iline", "xline", "samples", "cdp_x"):
        np.testing.assert_array_equal(result[name].values, data[name].values)
    flags = result["facies"].attrs
    assert flags["flag_values"] == [0, 1, 2] and flags["flag_meanings"] == " ".join(CLASSES)
    probabilities = result["probabilities"]
    assert probabilities.dims == ("class", "xline", "iline", "samples")
    assert list(probabilities["class"].values) == CLASSES
    winner = probabilities.argmax("class").values
    np.testing.assert_array_equal(winner, result["facies"].values)
    np.testing.assert_allclose(probabilities.max("class").values, result["confidence"].values)


def test_dead_traces_get_no_facies(made):
    _, checkpoint, survey = made
    data = as_mdio(survey)
    data["trace_mask"][2, 3] = False
    data["amplitude"][4, 5] = 0.0  # all zero: dead, unless zero_traces="live"
    got = facies.predict_dataset(data, checkpoint, confidence=False)
    assert set(got.data_vars) == {"facies"}
    assert (got["facies"][2, 3] == -1).all() and (got["facies"][4, 5] == -1).all()
    kept = facies.predict_dataset(data, checkpoint, zero_traces="live")["facies"]
    assert (kept[4, 5] >= 0).all()


def test_the_checks_of_facies_predict_apply(made, tmp_path):
    _, checkpoint, survey = made
    other = make_checkpoint(tmp_path / "2ms.ckpt", sample_interval=2.0)
    with pytest.raises(CheckpointError, match=r"sample interval 4 differs"):
        facies.predict_dataset(survey, other)
    assert facies.predict_dataset(survey, other, allow_mismatch=True)["facies"].shape == (
        10, 10, 32,
    )  # fmt: skip
    with pytest.raises(FaciesError, match=r"no single crossline dim"):
        facies.predict_dataset(xr.DataArray(np.zeros((2, 3, 4)), dims=("il", "cdp", "t")),
                               checkpoint)  # fmt: skip
