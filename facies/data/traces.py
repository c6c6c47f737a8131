"""Trace batches for the LSTM baseline, cut from the same in-memory survey and splits.

A batch holds traces ``(B, channels, samples)`` (the trace, or a square neighbourhood of
traces as channels) and their labels ``(B, samples)``. Neighbours never reach outside
the trace's own split: positions past its inline range or the survey are clamped to
the border.
"""

from __future__ import annotations

import numpy as np
import torch

from facies.data.batches import Random, Rows, ShardedBatches
from facies.data.splits import InlineRange
from facies.data.volume import Volume


def cut_traces(
    volume: Volume,
    il: np.ndarray,
    xl: np.ndarray,
    region: InlineRange,
    radius: int,
    across: bool = True,
) -> dict:
    """Traces at (il, xl) with their ``radius`` neighbourhood, as a batch dict.

    ``across=False`` takes neighbours along the second axis only (a stack of sections,
    whose rows are not neighbours): the across offsets then repeat the row's own traces,
    so the channels keep the same layout."""
    device = volume.amplitude.device
    nxl = volume.amplitude.shape[1]
    il_t = torch.as_tensor(il, device=device)
    xl_t = torch.as_tensor(xl, device=device)
    offsets = torch.arange(-radius, radius + 1, device=device)
    across_offsets = offsets if across else torch.zeros_like(offsets)
    il_n = (il_t[:, None, None] + across_offsets[None, :, None]).clamp(
        region.start, region.stop - 1
    )
    xl_n = (xl_t[:, None, None] + offsets[None, None, :]).clamp(0, nxl - 1)
    il_n, xl_n = torch.broadcast_tensors(il_n, xl_n)
    traces = volume.amplitude[il_n, xl_n]  # (B, 2r+1, 2r+1, samples)
    return {
        "trace": traces.flatten(1, 2),
        "mask": volume.labels[il_t, xl_t].long(),
        "inline": il_t,
        "crossline": xl_t,
    }


class TraceBatches(ShardedBatches):
    """Batches of traces (with their neighbourhood) from one split; shuffled and augmented
    (amplitude scaling and noise: a trace has no lateral flip) when training.

    Sharded over DDP ranks like :class:`facies.data.patches.PatchBatches`.
    """

    key = "trace"

    def __init__(
        self,
        volume: Volume,
        region: InlineRange,
        live: np.ndarray,
        batch_size: int,
        radius: int = 0,
        shuffle: bool = False,
        augmentation: dict | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        il, xl = np.nonzero(live[region.as_slice()])
        super().__init__(volume, len(il), batch_size, shuffle, augmentation, seed, rank, world_size)
        self.il, self.xl = il + region.start, xl
        self.region, self.radius = region, radius

    def on_device(self, device: torch.device) -> None:
        self.il = torch.as_tensor(self.il, device=device)
        self.xl = torch.as_tensor(self.xl, device=device)

    def cut(self, rows: Rows, rng: Random | None) -> dict:
        return cut_traces(self.volume, self.il[rows], self.xl[rows], self.region, self.radius)
