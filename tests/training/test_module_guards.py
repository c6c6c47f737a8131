"""Training stops at the first non-finite loss, with one line that names the causes."""

from __future__ import annotations

import pytest
import torch

from facies.errors import TrainingError
from facies.names import IGNORE_INDEX
from facies.training.module import FaciesModule

MODEL = {"name": "unet", "depth": 2, "base_channels": 4}


def _module() -> FaciesModule:
    return FaciesModule(MODEL, ["a", "b", "c"])


def test_a_nan_loss_stops_training():
    module = _module()
    image = torch.randn(2, 1, 16, 16)
    image[0, 0, 3, 3] = float("nan")
    mask = torch.randint(0, 3, (2, 16, 16))
    with pytest.raises(TrainingError, match=r"loss became nan.*NaN or infinite amplitudes"):
        module.training_step({"image": image, "mask": mask}, 0)


def test_a_batch_with_nothing_labelled_adds_nothing():
    module = _module()
    batch = {"image": torch.randn(2, 1, 16, 16), "mask": torch.full((2, 16, 16), IGNORE_INDEX)}
    loss = module.training_step(batch, 0)
    assert loss.item() == 0.0
    loss.backward()  # every parameter takes part (DDP needs that), with a zero gradient
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    assert all(g is not None and not g.any() for g in grads)
