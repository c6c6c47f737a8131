"""A tiny untrained checkpoint: enough to test prediction's plumbing without training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_checkpoint


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    return make_checkpoint(tmp_path / "tiny.ckpt")
