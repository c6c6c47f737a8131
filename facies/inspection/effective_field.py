"""Effective receptive fields, measured from input gradients (Luo et al., 2016).

For a stage, the gradient of its activations at one centre pixel (all channels) is
taken with respect to the input section. Its magnitude, summed over sections, shows
which input samples actually move that pixel: in trained networks the field is
roughly Gaussian and much smaller than the theoretical one. The extent reported is
the width of the central interval that holds ``mass`` (95 % by default) of the
gradient magnitude along each axis, in samples and traces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from facies.inspection.stages import Stage, capture_with_grad


@dataclass(frozen=True)
class EffectiveField:
    """A measured field: the gradient map (samples x traces) and its extent.

    Attributes:
        gradient: summed gradient magnitude over the input section, normalised to max 1.
        extent: (samples, traces) widths holding ``mass`` of the gradient.
        centre: input (sample, trace) of the pixel whose gradient was taken.
    """

    gradient: np.ndarray
    extent: tuple[float, float]
    centre: tuple[int, int]


def mass_width(profile: np.ndarray, mass: float = 0.95) -> float:
    """Width of the interval between the ``(1-mass)/2`` and ``(1+mass)/2`` quantiles of a
    non-negative profile, in samples (linear interpolation within a sample)."""
    profile = np.clip(np.asarray(profile, dtype=np.float64), 0, None)
    total = profile.sum()
    if total <= 0:
        return 0.0
    cdf = np.concatenate([[0.0], np.cumsum(profile) / total])
    edges = np.arange(len(profile) + 1, dtype=np.float64)
    lo, hi = np.interp([(1 - mass) / 2, (1 + mass) / 2], cdf, edges)
    return float(hi - lo)


def effective_fields(
    net: nn.Module, sections: Tensor, stages: list[Stage], mass: float = 0.95
) -> dict[str, EffectiveField]:
    """The effective receptive field of every stage on ``sections`` ``(N, C, H, W)``.

    One forward pass, then a backward pass per stage. The network runs in its current
    mode: call ``eval()`` first so batch norm uses its running statistics and the
    sections stay independent.
    """
    x = sections.detach().clone().requires_grad_(True)
    _, outputs = capture_with_grad(net, x, stages)  # one forward, a backward per stage
    fields = {}
    for k, stage in enumerate(stages):
        activation = outputs[stage.name]
        h, w = activation.shape[-2:]
        ci, cj = h // 2, w // 2
        (grad,) = torch.autograd.grad(
            activation[:, :, ci, cj].sum(), x, retain_graph=k < len(stages) - 1
        )
        grad = grad.abs().sum(dim=(0, 1)).cpu().numpy().astype(np.float64)
        peak = grad.max()
        extent = (mass_width(grad.sum(axis=1), mass), mass_width(grad.sum(axis=0), mass))
        centre = (ci * stage.scale + stage.scale // 2, cj * stage.scale + stage.scale // 2)
        fields[stage.name] = EffectiveField(grad / peak if peak > 0 else grad, extent, centre)
    return fields
