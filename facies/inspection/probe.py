"""Linear probes: how linearly separable the facies are in a stage's features.

A stage's feature maps are sampled bilinearly at labelled pixels of the input grid (the
same values an upsampling of the maps to the section would give there, without
holding the upsampled maps). A multinomial logistic regression is fitted on pixels of
training sections and scored on pixels of held-out sections: pixel accuracy and mIoU
from one confusion matrix, as for the models themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facies.errors import FaciesError
from facies.training.metrics import confusion_matrix, scores


@dataclass(frozen=True)
class ProbeResult:
    """Held-out scores of a linear probe."""

    accuracy: float
    miou: float
    train_accuracy: float
    confusion: np.ndarray


def sample_pixels(mask: Tensor, count: int, ignore_index: int, generator: torch.Generator):
    """Up to ``count`` labelled pixels of masks ``(N, H, W)``, drawn uniformly without
    replacement: ``(section, row, column)`` index tensors."""
    section, row, col = torch.nonzero(mask != ignore_index, as_tuple=True)
    if len(section) > count:
        keep = torch.randperm(len(section), generator=generator)[:count].sort().values
        section, row, col = section[keep], row[keep], col[keep]
    return section, row, col


def features_at(maps: Tensor, rows: Tensor, cols: Tensor, size: tuple[int, int]) -> Tensor:
    """Feature vectors ``(P, C)`` of one section's maps ``(C, h, w)`` at input pixels
    ``(rows, cols)`` of a ``size`` (H, W) grid, bilinear as ``F.interpolate(...,
    align_corners=False)`` to that grid would give."""
    height, width = size
    y = (2 * rows.to(maps.dtype) + 1) / height - 1
    x = (2 * cols.to(maps.dtype) + 1) / width - 1
    grid = torch.stack([x, y], dim=-1)[None, None]  # (1, 1, P, 2), (x, y) order
    sampled = F.grid_sample(
        maps[None], grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    return sampled[0, :, 0].T


def fit_probe(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    num_classes: int,
    max_iter: int = 100,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> ProbeResult:
    """Fit a logistic regression on standardised features; score it on the held-out set.

    Raises:
        FaciesError: either set is empty.
    """
    if len(train_y) == 0 or len(test_y) == 0:
        raise FaciesError(
            "the linear probe needs labelled pixels in both training and held-out sections; "
            "check the survey's labels and splits."
        )
    mean = train_x.mean(0, keepdim=True)
    std = train_x.std(0, keepdim=True).clamp_min(1e-6)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        torch.manual_seed(seed)
        linear = nn.Linear(train_x.shape[1], num_classes).to(train_x.device)
    optimizer = torch.optim.LBFGS(
        linear.parameters(),
        lr=1.0,
        max_iter=max_iter,
        tolerance_change=1e-6,  # stop once the loss stalls: scores settle long before
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(train_x), train_y)
        loss = loss + weight_decay * linear.weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        train_pred = linear(train_x).argmax(1)
        test_pred = linear(test_x).argmax(1)
    confusion = confusion_matrix(test_pred, test_y, num_classes).cpu().numpy()
    result = scores(confusion)
    return ProbeResult(
        accuracy=result["pa"],
        miou=result["miou"],
        train_accuracy=float((train_pred == train_y).float().mean()),
        confusion=confusion,
    )
