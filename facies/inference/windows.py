"""Sliding windows over a section and the taper that blends them without seams.

Windows of ``size`` start every ``size * (1 - overlap)`` samples; the last one is
shifted back to end at the border (as in training tiles), so every sample is covered
whatever the section's size. Each window's probabilities are weighted by a smooth
taper that falls towards the window's edges, where a CNN sees the least context, and
the weighted sum is divided by the sum of weights: the weights that blend any sample
sum to one.
"""

from __future__ import annotations

import numpy as np

from facies.data.tiling import tile_starts
from facies.errors import ConfigError

#: The taper never reaches zero, so a sample covered by one window edge still counts.
TAPER_FLOOR = 1e-3


def window_starts(length: int, size: int, overlap: float) -> np.ndarray:
    """Start positions of windows of ``size`` over ``0:length`` with ``overlap`` (0..1)."""
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap must be in [0, 1), not {overlap}; 0.5 is a good default.")
    stride = max(1, round(size * (1 - overlap)))
    return tile_starts(length, size, stride)


def taper(size: int) -> np.ndarray:
    """A smooth 1-D weight: sin^2 over the window, floored at TAPER_FLOOR."""
    x = (np.arange(size) + 0.5) / size
    return np.maximum(np.sin(np.pi * x) ** 2, TAPER_FLOOR).astype(np.float32)


def taper_2d(height: int, width: int) -> np.ndarray:
    """Outer product of the vertical and lateral tapers."""
    return np.outer(taper(height), taper(width))


def blend_weights(shape: tuple[int, int], size: tuple[int, int], overlap: float) -> np.ndarray:
    """The normalised weight of every window at every sample: (windows, H, W).

    Used to check that blending is a partition of unity; prediction does the same sum
    on the fly.
    """
    h, w = shape
    tiles = [
        (a, b)
        for a in window_starts(h, size[0], overlap)
        for b in window_starts(w, size[1], overlap)
    ]
    weights = np.zeros((len(tiles), max(h, size[0]), max(w, size[1])), dtype=np.float64)
    window = taper_2d(*size)
    for k, (a, b) in enumerate(tiles):
        weights[k, a : a + size[0], b : b + size[1]] = window
    weights = weights[:, :h, :w]
    return weights / weights.sum(axis=0, keepdims=True)
