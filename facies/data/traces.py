"""Trace batches for the LSTM baseline, cut from the same in-memory survey and splits.

A batch holds traces ``(B, channels, samples)`` (the trace, or a square neighbourhood of
traces as channels) and their labels ``(B, samples)``. Neighbours never reach outside
the trace's own split: positions past its inline range or the survey are clamped to
the border.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from facies.data.patches import Volume
from facies.data.sharding import Shard
from facies.data.splits import InlineRange


def cut_traces(
    volume: Volume, il: np.ndarray, xl: np.ndarray, region: InlineRange, radius: int
) -> dict:
    """Traces at (il, xl) with their ``radius`` neighbourhood, as a batch dict."""
    device = volume.amplitude.device
    nxl = volume.amplitude.shape[1]
    il_t = torch.as_tensor(il, device=device)
    xl_t = torch.as_tensor(xl, device=device)
    offsets = torch.arange(-radius, radius + 1, device=device)
    il_n = (il_t[:, None, None] + offsets[None, :, None]).clamp(region.start, region.stop - 1)
    xl_n = (xl_t[:, None, None] + offsets[None, None, :]).clamp(0, nxl - 1)
    traces = volume.amplitude[il_n, xl_n]  # (B, 2r+1, 2r+1, samples)
    return {
        "trace": traces.flatten(1, 2),
        "mask": volume.labels[il_t, xl_t],
        "inline": il_t,
        "crossline": xl_t,
    }


class TraceBatches:
    """An epoch of trace batches from one split; shuffled and augmented when training.

    Sharded over DDP ranks like :class:`facies.data.patches.PatchBatches`.
    """

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
        self.il, self.xl = il + region.start, xl
        self.volume, self.region, self.radius = volume, region, radius
        self.batch_size, self.shuffle = batch_size, shuffle
        self.augmentation = augmentation or {}
        #: Lightning calls ``sampler.set_epoch`` each epoch, as for a DistributedSampler
        #: (and, as on a DataLoader, reads ``batch_sampler``: batching is ours).
        self.batch_sampler = None
        self.sampler = Shard(len(self.il), rank, world_size, shuffle, seed)

    def __len__(self) -> int:
        return -(-self.sampler.per_rank // self.batch_size)

    def __iter__(self) -> Iterator[dict]:
        epoch = self.sampler.next_epoch()
        order, scored = self.sampler.rows(epoch)
        _, generator = self.sampler.generators(epoch)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = cut_traces(self.volume, self.il[rows], self.xl[rows], self.region, self.radius)
            unscored = ~scored[start : start + self.batch_size]
            if unscored.any():
                batch["mask"][torch.as_tensor(unscored, device=batch["mask"].device)] = (
                    self.volume.ignore_index
                )
            if self.augmentation.get("enabled", False):
                batch = self._augment(batch, generator)
            yield batch

    def _augment(self, batch: dict, generator: torch.Generator) -> dict:
        """Amplitude scaling and noise, as for patches (a trace has no lateral flip)."""
        trace = batch["trace"]
        scale = self.augmentation.get("amplitude_scale", 0.0)
        noise = self.augmentation.get("noise", 0.0)
        n = trace.shape[0]
        if scale:
            factor = 1 + scale * (2 * torch.rand(n, generator=generator) - 1)
            trace = trace * factor.to(trace.device)[:, None, None]
        if noise:
            trace = trace + noise * torch.randn(trace.shape, generator=generator).to(trace.device)
        return {**batch, "trace": trace}
