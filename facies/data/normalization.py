"""Robust clip-and-scale normalisation, estimated on the training region only."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Percentiles that set the clip range.
CLIP_PERCENTILES = (0.5, 99.5)
#: At most this many samples are drawn to estimate the statistics.
MAX_SAMPLES = 2_000_000


@dataclass(frozen=True)
class NormStats:
    """Amplitudes are clipped to [low, high] and divided by ``scale``."""

    low: float
    high: float
    scale: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def estimate_stats(amplitude: np.ndarray, live: np.ndarray, seed: int = 0) -> NormStats:
    """Clip range and scale from live traces of ``amplitude`` (inline, crossline, sample)."""
    traces = amplitude[live]
    values = traces.ravel()
    if values.size > MAX_SAMPLES:
        picks = np.random.default_rng(seed).choice(values.size, MAX_SAMPLES, replace=False)
        values = values[picks]
    values = values[np.isfinite(values)]  # NaN/inf samples are refused or masked elsewhere
    if values.size == 0:
        return NormStats(-1.0, 1.0, 1.0)
    low, high = np.percentile(values, CLIP_PERCENTILES)
    scale = float(max(abs(low), abs(high))) or 1.0
    return NormStats(float(low), float(high), scale)


def normalize(amplitude: np.ndarray, stats: NormStats) -> np.ndarray:
    """Clip and scale into about [-1, 1], as float32."""
    out = np.clip(amplitude, stats.low, stats.high, dtype=np.float32)
    out /= np.float32(stats.scale)
    return out
