"""A tiny untrained checkpoint: enough to test prediction's plumbing without training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facies.module import FaciesModule

CLASSES = ["parallel", "chaotic", "transparent"]


def make_checkpoint(path: Path, **overrides) -> Path:
    hp = {
        "model": {"name": "unet", "depth": 2, "base_channels": 4},
        "class_names": CLASSES,
        "norm_stats": {"low": -2000.0, "high": 2000.0, "scale": 2000.0},
        "patch": [8, 8],
        "sample_interval": 4.0,
        **overrides,
    }
    torch.manual_seed(0)
    module = FaciesModule(**hp)
    torch.save({"hyper_parameters": hp, "state_dict": module.state_dict()}, path)
    return path


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    return make_checkpoint(tmp_path / "tiny.ckpt")
