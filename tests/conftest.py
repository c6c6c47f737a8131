"""Shared fixtures: tiny SEG-Y files whose values encode (inline, crossline, sample)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from facies.io.segy.create import SegySpec, create_segy
from tests.helpers import SEGYIO_DATA, encoded_cube


@pytest.fixture
def segyio_data() -> Path:
    """segyio's own test files, read in place from ../shared; skipped where absent."""
    if not SEGYIO_DATA.is_dir():
        pytest.skip(f"segyio test data not found at {SEGYIO_DATA}")
    return SEGYIO_DATA


@pytest.fixture
def make_segy(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_segy(name, inlines=..., crosslines=..., ns=..., live=..., cube=...,
    trace_id=..., **spec)`` (``trace_id``: trace identification codes, bytes 29-30)."""

    def make(
        name: str = "cube.sgy",
        inlines: np.ndarray | range = range(10, 15),
        crosslines: np.ndarray | range = range(20, 24),
        ns: int = 8,
        live: np.ndarray | None = None,
        cube: np.ndarray | None = None,
        trace_id: np.ndarray | int | None = None,
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
            trace_id=trace_id,
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


@pytest.fixture
def make_flagged_segy(make_segy) -> Callable[..., Path]:
    """Factory like ``make_segy``, with trace identification codes (bytes 29-30):
    ``make_flagged_segy(trace_id=codes, name=..., cube=..., live=..., **spec)``, where
    ``codes`` is one code per (inline, crossline) cell or one for every trace."""

    def make(trace_id: np.ndarray | int, name: str = "flagged.sgy", **kwargs: object) -> Path:
        return make_segy(name, trace_id=trace_id, **kwargs)

    return make
