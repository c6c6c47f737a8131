"""A box of a survey (inlines x crosslines x all samples) read as training sees it.

Amplitude is normalised with the training statistics (float32), labels are held as
:data:`~facies.data.volume.LABEL_DTYPE` with every sample that must not be scored set to
the ignore value (the survey's ignore label, dead traces, non-finite amplitude). The
in-memory data module reads the whole survey a block at a time with it; the streamed one
(:mod:`facies.data.streamed`) reads the regions patches are cut from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from facies.data.normalization import NormStats, normalize
from facies.data.volume import LABEL_DTYPE
from facies.errors import TrainingError
from facies.names import AMPLITUDE, IGNORE_INDEX, LABELS


@dataclass(frozen=True)
class Box:
    """Inline and crossline index ranges ``[i0, i1) x [x0, x1)`` of a survey; or, along
    one axis, only the lines ``inlines`` (or ``crosslines``: sorted indices in the range);
    all samples, or ``[s0, s1)``."""

    i0: int
    i1: int
    x0: int
    x1: int
    inlines: tuple[int, ...] | None = None
    crosslines: tuple[int, ...] | None = None
    #: Samples ``[s0, s1)`` (None: every sample).
    s0: int = 0
    s1: int | None = None

    @property
    def inline_index(self) -> np.ndarray:
        """The box's inlines, in order."""
        if self.inlines is not None:
            return np.asarray(self.inlines, dtype=np.int64)
        return np.arange(self.i0, self.i1)

    @property
    def crossline_index(self) -> np.ndarray:
        """The box's crosslines, in order."""
        if self.crosslines is not None:
            return np.asarray(self.crosslines, dtype=np.int64)
        return np.arange(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.inline_index), len(self.crossline_index)

    def where(self) -> dict[str, slice | list[int]]:
        """The box as ``isel`` arguments."""
        return {
            "sample": slice(self.s0, self.s1),
            "inline": list(self.inlines) if self.inlines is not None else slice(self.i0, self.i1),
            "crossline": (
                list(self.crosslines) if self.crosslines is not None else slice(self.x0, self.x1)
            ),
        }


@dataclass
class NonFinite:
    """Non-finite amplitude samples met so far, and the traces holding them."""

    samples: int = 0
    traces: int = 0

    def add(self, invalid: np.ndarray) -> None:
        self.samples += int(invalid.sum())
        self.traces += int(invalid.any(axis=-1).sum())

    def error(self) -> TrainingError:
        return TrainingError(
            f"the survey holds {self.samples} NaN or infinite amplitude samples in "
            f"{self.traces} traces; training on them would make every weight NaN. "
            "Set data.mask_nonfinite=true to leave those samples out of the loss and "
            "the metrics, or repair the SEG-Y."
        )


def read_box(
    survey: xr.Dataset,
    box: Box,
    stats: NormStats,
    live: np.ndarray,
    ignore_label: int | None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised amplitude and labels of ``box`` (all samples), and where amplitude was
    not finite (set to 0, its label the ignore value); ``out`` receives them when given
    (views of a larger volume), else new arrays are made. ``live`` is the survey's
    (inline, crossline) live mask, ``ignore_label`` its unlabelled value (or None)."""
    where = box.where()
    values = np.asarray(survey[AMPLITUDE].isel(where).values, dtype=np.float32)
    classes = np.asarray(survey[LABELS].isel(where).values)
    invalid = ~np.isfinite(values)
    if invalid.any():  # a new array: ``values`` may be a view of an in-memory survey
        values = np.where(invalid, np.float32(0.0), values)
    amplitude, labels = out if out is not None else (None, None)
    if labels is None:
        labels = np.empty(classes.shape, dtype=LABEL_DTYPE)
    labels[...] = classes
    if ignore_label is not None:
        labels[classes == ignore_label] = IGNORE_INDEX
    labels[~live[np.ix_(box.inline_index, box.crossline_index)]] = IGNORE_INDEX
    labels[invalid] = IGNORE_INDEX
    if amplitude is None:
        amplitude = normalize(values, stats)
    else:
        np.clip(values, stats.low, stats.high, out=amplitude)
        amplitude /= np.float32(stats.scale)
    return amplitude, labels, invalid
