"""Shared fixtures: tiny SEG-Y files whose values encode (inline, crossline, sample)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from facies.io.segy_create import SegySpec, create_segy

REPO = Path(__file__).resolve().parents[1]
SEGYIO_DATA = Path(
    os.environ.get("FACIES_SEGYIO_TEST_DATA", REPO.parent / "shared" / "data" / "segyio-test-data")
)

#: The synthetic survey of a tiny `facies train` in tests: seconds on one CPU core.
TINY_DATA = [
    "data.synthetic.n_inlines=40",
    "data.synthetic.n_crosslines=24",
    "data.synthetic.n_samples=32",
    "data.patch=[16,16]",
    "data.stride=[16,16]",
]
#: A tiny U-Net for it.
TINY_MODEL = ["model.depth=2", "model.base_channels=4"]
#: Both, with a loss logged at every step.
TINY_TRAIN = [*TINY_DATA, *TINY_MODEL, "trainer.log_every_n_steps=1"]


def encoded_cube(inlines: np.ndarray, crosslines: np.ndarray, ns: int) -> np.ndarray:
    """Values il*100 + xl + sample/64: exact in every float format, orientation obvious."""
    il = np.asarray(inlines, dtype=np.float64)[:, None, None]
    xl = np.asarray(crosslines, dtype=np.float64)[None, :, None]
    s = np.arange(ns, dtype=np.float64)[None, None, :]
    return (il * 100 + xl + s / 64).astype(np.float32)


@pytest.fixture
def segyio_data() -> Path:
    """segyio's own test files, read in place from ../shared; skipped where absent."""
    if not SEGYIO_DATA.is_dir():
        pytest.skip(f"segyio test data not found at {SEGYIO_DATA}")
    return SEGYIO_DATA


@pytest.fixture
def make_segy(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_segy(name, inlines=..., crosslines=..., ns=..., live=..., **spec)``."""

    def make(
        name: str = "cube.sgy",
        inlines: np.ndarray | range = range(10, 15),
        crosslines: np.ndarray | range = range(20, 24),
        ns: int = 8,
        live: np.ndarray | None = None,
        cube: np.ndarray | None = None,
        **spec: object,
    ) -> Path:
        inlines, crosslines = np.asarray(inlines), np.asarray(crosslines)
        if cube is None:
            cube = encoded_cube(inlines, crosslines, ns)
        gx, gy = np.meshgrid(crosslines * 25.0, inlines * 12.5)
        return create_segy(
            tmp_path / name,
            cube,
            inlines,
            crosslines,
            live=live,
            cdp_x=500_000 + gx,
            cdp_y=6_000_000 + gy,
            spec=SegySpec(**spec),
        )

    return make


@pytest.fixture
def one_thread():
    """One intra-op thread: tiny tensors gain nothing from more, and on a busy CPU they thrash."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
