"""A tiny untrained checkpoint: enough to test prediction's plumbing without training."""

from __future__ import annotations

from pathlib import Path

import pytest

from facies.checkpoint import write_untrained

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
    return write_untrained(path, hp)


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    return make_checkpoint(tmp_path / "tiny.ckpt")
