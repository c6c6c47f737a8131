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


def interval_mismatch(hp, sample_interval: float | None) -> str | None:
    """How the survey's sample interval differs from the checkpoint's training survey,
    or None where they match or either is unknown (0 or missing)."""
    trained = hp.get("sample_interval")
    if trained and sample_interval and abs(float(trained) - float(sample_interval)) > 1e-6:
        return (
            f"sample interval {float(sample_interval):g} differs from the training "
            f"survey's {float(trained):g}"
        )
    return None


def refuse_mismatches(problems: list[str], allow_mismatch: bool, verb: str) -> None:
    """Raise for ``problems`` (the checkpoint does not fit the survey) unless allowed,
    in which case each is logged."""
    problems = [p for p in problems if p]
    if problems and not allow_mismatch:
        raise CheckpointError(
            "; ".join(problems) + f". Resample the survey, or pass allow_mismatch=true to "
            f"{verb} anyway."
        )
    for problem in problems:
        log.warning("%s (allowed by allow_mismatch=true)", problem)


def check_compatible(hp, reader: SurveyReader, allow_mismatch: bool = False) -> None:
    """The sample interval and (where the survey names them) the classes must match."""
    problems = [interval_mismatch(hp, reader.sample_interval)]
    names = reader.survey.attrs.get("class_names")
    if names and list(names) != list(hp["class_names"]):
        problems.append(f"classes {list(names)} differ from the model's {hp['class_names']}")
    refuse_mismatches(problems, allow_mismatch, "predict")


def check_survey(hp, survey, allow_mismatch: bool = False, verb: str = "score it") -> None:
    """A survey (``xarray.Dataset``) scored or inspected with a checkpoint must have been
    sampled as the training survey was (the same rule and option as :func:`check_compatible`;
    the classes are compared where the test split is made)."""
    refuse_mismatches(
        [interval_mismatch(hp, survey.attrs.get("sample_interval"))], allow_mismatch, verb
    )


def check_window(window, hp, reader: SurveyReader) -> None:
    """A prediction window no larger than the survey's sections (or the checkpoint's patch,
    which a small survey is padded to): a larger one only pads every section with zeros,
    at a memory cost that grows with it (``window=[100000,100000]`` asked for 1.75 TiB)."""
    if window is None:
        return
    nil, nxl, ns = reader.shape
    patch = [int(v) for v in hp.get("patch") or (0, 0)]
    most = (max(ns, patch[0]), max(nxl, nil, patch[1]))
    height, width = (int(v) for v in window)
    if height > most[0] or width > most[1]:
        raise ConfigError(
            f"window=[{height},{width}] is larger than the survey's sections ({ns} samples, "
            f"{max(nxl, nil)} traces at most) and the checkpoint's patch {patch}; use at most "
            f"window=[{most[0]},{most[1]}], or leave window unset (the checkpoint's patch)."
        )


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
