"""Does a checkpoint fit the survey it is asked to predict? And how to normalise it."""

from __future__ import annotations

import logging

import numpy as np

from facies.data.normalization import NormStats, estimate_stats
from facies.errors import CheckpointError, ConfigError
from facies.inference.reader import SurveyReader

log = logging.getLogger(__name__)

#: Warn when the survey's clip level differs from the training one by more than this.
AMPLITUDE_RATIO_WARNING = 3.0


def check_compatible(hp, reader: SurveyReader, allow_mismatch: bool = False) -> None:
    """The sample interval and (where the survey names them) the classes must match."""
    problems = []
    trained = hp.get("sample_interval")
    if trained and reader.sample_interval and abs(trained - reader.sample_interval) > 1e-6:
        problems.append(
            f"sample interval {reader.sample_interval:g} differs from the training "
            f"survey's {trained:g}"
        )
    names = reader.survey.attrs.get("class_names")
    if names and list(names) != list(hp["class_names"]):
        problems.append(f"classes {list(names)} differ from the model's {hp['class_names']}")
    if problems and not allow_mismatch:
        raise CheckpointError(
            "; ".join(problems) + ". Resample the survey, or pass allow_mismatch=true to "
            "predict anyway."
        )
    for problem in problems:
        log.warning("%s (allowed by allow_mismatch=true)", problem)


def normalisation(hp, reader: SurveyReader, mode: str) -> NormStats:
    """The checkpoint's statistics, or ones re-estimated on the survey (``mode=survey``)."""
    if mode not in ("checkpoint", "survey"):
        raise ConfigError(f"normalization must be 'checkpoint' or 'survey', not {mode!r}.")
    traces = reader.sample_amplitudes()
    here = estimate_stats(traces[:, None, :], np.ones((len(traces), 1), dtype=bool))
    if mode == "survey" or not hp.get("norm_stats"):
        return here
    trained = NormStats(**hp["norm_stats"])
    ratio = here.scale / trained.scale
    if not 1 / AMPLITUDE_RATIO_WARNING <= ratio <= AMPLITUDE_RATIO_WARNING:
        log.warning(
            "the survey's amplitudes are %.3gx those of the training data (clip level %.4g vs "
            "%.4g); predictions may suffer. Pass normalization=survey to re-estimate them.",
            ratio,
            here.scale,
            trained.scale,
        )
    return trained


def inline_range(spec, reader: SurveyReader) -> tuple[int, int] | None:
    """Inline numbers ``[first, last]`` (inclusive) as indices ``(start, stop)``."""
    if spec is None:
        return None
    inlines = reader.survey["inline"].values
    first, last = (int(v) for v in spec)
    if first > last or first < inlines[0] or last > inlines[-1]:
        raise ConfigError(
            f"inlines=[{first},{last}] is not inside the survey's {inlines[0]}..{inlines[-1]}."
        )
    start = int(np.searchsorted(inlines, first))
    stop = int(np.searchsorted(inlines, last, side="right"))
    return start, stop
