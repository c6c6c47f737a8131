"""A picture of a prediction: seismic, facies and confidence on the middle sections."""

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
    """The middle inline and the middle crossline: seismic | facies | confidence."""
    prediction = ps.open_prediction(store)
    nil, nxl, _ = reader.shape
    il, xl = nil // 2, nxl // 2
    inline_number = int(reader.survey["inline"].values[il])
    crossline_number = int(reader.survey["crossline"].values[xl])
    seismic_il = normalize(reader.read(il, il + 1)[0], stats).T
    rows = [
        (
            f"inline {inline_number}",
            seismic_il,
            np.asarray(prediction[ps.FACIES][il].values).T,
            np.asarray(prediction[ps.CONFIDENCE][il].values).T,
            plots.SectionAxes.of(reader.survey, "inline"),
        )
    ]
    if nil > 1:
        # a crossline needs every inline; read it from the survey a block at a time
        seismic_xl = np.stack([normalize(reader.read(i, i + 1)[0, xl], stats) for i in range(nil)])
        rows.append(
            (
                f"crossline {crossline_number}",
                seismic_xl.T,
                np.asarray(prediction[ps.FACIES][:, xl].values).T,
                np.asarray(prediction[ps.CONFIDENCE][:, xl].values).T,
                plots.SectionAxes.of(reader.survey, "crossline"),
            )
        )
    return plots.prediction_figure(rows, names, path)
