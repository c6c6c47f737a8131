"""Robust clip-and-scale normalisation, estimated on the training region only."""

from __future__ import annotations

from collections.abc import Callable
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
    return stats_of(values)


def estimate_stats_blockwise(
    read: Callable[[int, int], np.ndarray],
    region: tuple[int, int],
    live: np.ndarray,
    samples: int,
    seed: int = 0,
    block_bytes: int = 64 * 2**20,
) -> NormStats:
    """:func:`estimate_stats` over inline indices ``region`` of a survey read a block of
    inlines at a time (``read(a, b)`` -> amplitude[a:b]): memory stays at one block plus
    at most about :data:`MAX_SAMPLES` values, whatever the survey's size. Where the region
    holds no more than MAX_SAMPLES live samples the result equals :func:`estimate_stats`'s."""
    start, stop = region
    total = int(live[start:stop].sum()) * samples
    keep = min(1.0, MAX_SAMPLES / max(total, 1))
    rng = np.random.default_rng(seed)
    step = max(1, block_bytes // max(1, live.shape[1] * samples * 4))
    parts = []
    for a in range(start, stop, step):
        b = min(a + step, stop)
        values = read(a, b)[live[a:b]].ravel()
        if keep < 1.0:
            values = values[rng.random(values.size) < keep]
        parts.append(np.array(values, copy=True))
    return stats_of(np.concatenate(parts) if parts else np.empty(0, np.float32))


def stats_of(values: np.ndarray) -> NormStats:
    """The clip range (:data:`CLIP_PERCENTILES` of the finite values) and scale."""
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
