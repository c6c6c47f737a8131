"""Spatial-frequency content of feature maps: power spectra and their centroids.

Each channel's map has its mean removed, then its 2-D power spectrum is summed over
channels and sections (so strong channels count more). The centroid is the
power-weighted mean frequency. Frequencies are given in cycles per *input* sample or
trace (a map at scale ``s`` holds at most ``0.5 / s``), and also in cycles per pixel of
the map itself, which shows whether a stage uses the band it has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class SpectralCentroid:
    """Power-weighted mean frequencies of a stack of feature maps.

    Attributes:
        radial: centroid of the 2-D frequency magnitude, cycles per input sample.
        vertical: centroid along the sample axis, cycles per input sample.
        lateral: centroid along the trace axis, cycles per input trace.
        radial_native: ``radial`` in cycles per pixel of the map (at most ~0.71).
    """

    radial: float
    vertical: float
    lateral: float
    radial_native: float


def power_spectrum(maps: Tensor) -> np.ndarray:
    """Power of the mean-removed maps ``(..., H, W)`` summed over leading axes: ``(H, W)``,
    unshifted (frequencies as ``numpy.fft.fftfreq``)."""
    maps = maps.detach().to(torch.float64)
    maps = maps - maps.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(maps).abs().square()
    return power.reshape(-1, *power.shape[-2:]).sum(0).cpu().numpy()


def spectral_centroid(maps: Tensor, scale: int = 1) -> SpectralCentroid:
    """Centroids of feature maps ``(..., H, W)`` computed at ``scale`` input samples per pixel.

    Maps with no variation give zeros.
    """
    return centroid_of_power(power_spectrum(maps), scale)


def centroid_of_power(power: np.ndarray, scale: int = 1) -> SpectralCentroid:
    """Centroids of an unshifted power spectrum ``(H, W)`` (see :func:`power_spectrum`);
    spectra of maps of one size can be summed first."""
    h, w = power.shape
    fy = np.abs(np.fft.fftfreq(h))[:, None]
    fx = np.abs(np.fft.fftfreq(w))[None, :]
    total = power.sum()
    if total <= 0:
        return SpectralCentroid(0.0, 0.0, 0.0, 0.0)
    radial = float((np.hypot(fy, fx) * power).sum() / total)
    vertical = float((fy * power).sum() / total)
    lateral = float((fx * power).sum() / total)
    return SpectralCentroid(radial / scale, vertical / scale, lateral / scale, radial)
