"""A survey holding NaN or infinite amplitudes is refused for training, or masked on request."""

from __future__ import annotations

import numpy as np
import pytest

from facies.data.datamodule import SurveyDataModule
from facies.errors import TrainingError
from facies.names import AMPLITUDE, IGNORE_INDEX
from facies.sources.synthetic import synthetic_dataset


def _survey():
    survey = synthetic_dataset(n_inlines=40, n_crosslines=16, n_samples=32, seed=0)
    amplitude = survey[AMPLITUDE].values.copy()
    amplitude[2, 3, 4:10] = np.nan
    amplitude[5, 1, 0] = -np.inf
    return survey.assign({AMPLITUDE: (survey[AMPLITUDE].dims, amplitude)})


def test_nan_amplitudes_are_refused_with_the_count_and_the_fix():
    dm = SurveyDataModule(_survey(), patch=(16, 16), stride=(16, 16), size_multiple=4)
    with pytest.raises(TrainingError, match=r"7 NaN or infinite amplitude samples in 2 traces.*"
                       r"data\.mask_nonfinite=true"):  # fmt: skip
        dm.setup("fit")


def test_masked_nan_amplitudes_are_left_out_of_loss_and_metrics():
    dm = SurveyDataModule(
        _survey(), patch=(16, 16), stride=(16, 16), size_multiple=4, mask_nonfinite=True
    )
    dm.setup("fit")
    assert np.isfinite(dm.norm_stats.low) and np.isfinite(dm.norm_stats.high)
    volume = dm.volume
    assert bool(volume.amplitude.isfinite().all())
    assert (volume.labels[2, 3, 4:10] == IGNORE_INDEX).all() and volume.labels[
        5, 1, 0
    ] == IGNORE_INDEX
    assert (volume.labels[2, 3, :4] != IGNORE_INDEX).all()


def test_a_survey_that_cannot_fit_is_refused_before_reading(monkeypatch):
    from facies.data import datamodule

    monkeypatch.setattr(datamodule, "available_bytes", lambda: 50_000)
    survey = synthetic_dataset(n_inlines=40, n_crosslines=16, n_samples=32, seed=0)
    dm = SurveyDataModule(survey, patch=(16, 16), stride=(16, 16), size_multiple=4)
    with pytest.raises(
        TrainingError, match=r"needs about 0\.00 GiB in memory \(20,480 samples x 6"
    ):
        dm.setup("fit")
    assert dm.volume is None
