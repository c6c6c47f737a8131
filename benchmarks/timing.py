"""Timing shared by the benchmark scripts (imported as ``timing``: scripts run from here)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def timed(
    fn: Callable[[], object], device: str | torch.device, repeats: int = 1, warmup: int = 0
) -> float:
    """Seconds per call of ``fn`` over ``repeats`` calls after ``warmup`` untimed ones,
    with CUDA work finished before the clock starts and before it stops."""
    cuda = torch.device(device).type == "cuda"
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats
