"""A picture of a prediction: seismic, facies and confidence on a few sections."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facies import plots
from facies.data.normalization import NormStats, normalize
from facies.inference import prediction_store as ps
from facies.inference.reader import SurveyReader


def prediction_figure(
    reader: SurveyReader, store: Path, names: list[str], stats: NormStats, path: Path
) -> Path:
    """The middle inline: seismic | facies | confidence."""
    prediction = ps.open_prediction(store)
    middle = reader.shape[0] // 2
    seismic = normalize(reader.read(middle, middle + 1)[0], stats).T
    facies = np.asarray(prediction[ps.FACIES][middle].values).T
    confidence = np.asarray(prediction[ps.CONFIDENCE][middle].values).T
    inline = int(reader.survey["inline"].values[middle])
    return plots.section_figure(
        seismic,
        {"facies": facies},
        names,
        f"inline {inline}: prediction (mean confidence {confidence[facies >= 0].mean():.2f})",
        path,
    )
