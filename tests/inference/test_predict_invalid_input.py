"""Non-finite input samples are predicted as no-data, and do not spread to their neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from facies.data.normalization import NormStats
from facies.inference import prediction_store as ps
from facies.inference.predict import PredictOptions, predict_survey
from facies.inference.reader import SurveyReader
from facies.training.checkpoint import load_network
from tests.helpers import CLASSES, encoded_cube, make_checkpoint

STATS = NormStats(-2000.0, 2000.0, 2000.0)


@pytest.mark.parametrize("model", [None, {"name": "lstm", "hidden_size": 4, "num_layers": 1}])
def test_nan_and_inf_samples_become_no_data(make_segy, tmp_path, model):
    inlines, crosslines, ns = range(1, 8), range(1, 9), 16
    cube = encoded_cube(inlines, crosslines, ns)
    clean = make_segy("clean.sgy", inlines=inlines, crosslines=crosslines, ns=ns, cube=cube)
    dirty = cube.copy()
    dirty[3, 4, 5:9] = np.nan
    dirty[0, 0, 0] = np.inf
    broken = make_segy("nan.sgy", inlines=inlines, crosslines=crosslines, ns=ns, cube=dirty)
    extra = {"model": model} if model else {}
    net, _ = load_network(make_checkpoint(tmp_path / "m.ckpt", **extra))
    opts = PredictOptions(window=(8, 8), block_inlines=3, probabilities=True)
    results = {}
    for name, path in (("clean", clean), ("nan", broken)):
        store = tmp_path / f"{name}.zarr"
        predict_survey(net, SurveyReader(path), STATS, CLASSES, store, opts)
        results[name] = ps.open_prediction(store)
    facies = results["nan"][ps.FACIES].values
    confidence = results["nan"][ps.CONFIDENCE].values
    invalid = ~np.isfinite(dirty)
    assert (facies[invalid] == ps.NO_TRACE).all() and (confidence[invalid] == 0).all()
    assert (facies[~invalid] >= 0).all() and np.isfinite(confidence).all()
    assert np.isfinite(results["nan"][ps.PROBABILITY].values).all()
    far = np.ones_like(invalid)
    far[:6, :7] = False  # well away from both bad spots (windows of 8 see them)
    np.testing.assert_array_equal(facies[far], results["clean"][ps.FACIES].values[far])
