"""Batches cut by indexing a survey held in memory (on the GPU when training there).

No per-sample Python work: a batch of B patches is one gather of B x H x W values
from the volume, with a validity mask for padding past section or split borders.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from facies.data.sharding import Shard
from facies.data.tiling import INLINE_SECTION, PatchTable


class Volume:
    """Normalised amplitude and labels of a survey as tensors (inline, crossline, sample)."""

    def __init__(self, amplitude: np.ndarray, labels: np.ndarray, ignore_index: int) -> None:
        self.amplitude = torch.from_numpy(np.ascontiguousarray(amplitude, dtype=np.float32))
        self.labels = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
        self.ignore_index = ignore_index

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.amplitude.shape)

    def to(self, device: torch.device | str) -> Volume:
        self.amplitude = self.amplitude.to(device)
        self.labels = self.labels.to(device)
        return self

    def cut(
        self,
        table: PatchTable,
        rows: np.ndarray,
        size: tuple[int, int],
        flip: np.ndarray | None = None,
    ) -> dict:
        """Patches ``rows`` of ``table`` as a batch dict: image (B,1,H,W), mask (B,H,W).

        ``flip`` (bool per row) mirrors patches laterally within the same gather.
        """
        device = self.amplitude.device
        h, w = size

        def col(name: str) -> torch.Tensor:
            return torch.as_tensor(getattr(table, name)[rows], device=device)[:, None, None]

        kind, section = col("kind"), col("section")
        offsets = torch.arange(w, device=device).expand(len(rows), 1, w)
        if flip is not None:
            mirrored = torch.as_tensor(flip, device=device)[:, None, None]
            offsets = torch.where(mirrored, w - 1 - offsets, offsets)
        lateral = col("lateral") + offsets
        samples = col("sample") + torch.arange(h, device=device)[None, :, None]
        valid = (lateral < col("lateral_hi")) & (samples < self.amplitude.shape[2])
        lateral = torch.minimum(lateral, col("lateral_hi") - 1)
        samples = samples.clamp(max=self.amplitude.shape[2] - 1)
        is_inline = kind == INLINE_SECTION
        il = torch.where(is_inline, section, lateral)
        xl = torch.where(is_inline, lateral, section)
        image = self.amplitude[il, xl, samples] * valid
        mask = torch.where(valid, self.labels[il, xl, samples], self.ignore_index)
        return {
            "image": image[:, None],
            "mask": mask,
            "kind": kind[:, 0, 0],
            "section": section[:, 0, 0],
            "lateral": col("lateral")[:, 0, 0],
            "sample": col("sample")[:, 0, 0],
        }


def augment(
    batch: dict, generator: torch.Generator, scale: float, noise: float, key: str = "image"
) -> dict:
    """Amplitude scaling (one factor per example) and noise on ``batch[key]``, any shape
    with examples first (lateral flips of patches happen in :meth:`Volume.cut`)."""
    values = batch[key]
    n, device = values.shape[0], values.device
    if scale:
        factor = 1 + scale * (2 * torch.rand(n, generator=generator) - 1)
        values = values * factor.to(device).reshape(n, *[1] * (values.dim() - 1))
    if noise:
        jitter = torch.randn(values.shape, generator=generator).to(device)
        values = values + noise * jitter
    return {**batch, key: values}


class ShardedBatches:
    """An epoch of batches over ``n_rows`` examples; shuffled and augmented when training.

    Under DDP each rank reads its own :class:`~facies.data.sharding.Shard` of the rows
    (``rank``, ``world_size``); rows a rank repeats only to keep batch counts equal are
    masked with the ignore value, so they add nothing to the loss or the metrics.
    Subclasses say how rows become a batch (:meth:`cut`) and which entry is augmented.
    """

    #: The batch entry that amplitude scaling and noise apply to.
    key = "image"

    def __init__(
        self,
        volume: Volume,
        n_rows: int,
        batch_size: int,
        shuffle: bool,
        augmentation: dict | None,
        seed: int,
        rank: int,
        world_size: int,
    ) -> None:
        self.volume, self.batch_size, self.shuffle = volume, batch_size, shuffle
        self.augmentation = augmentation or {}
        #: Lightning calls ``sampler.set_epoch`` each epoch, as for a DistributedSampler
        #: (and, as on a DataLoader, reads ``batch_sampler``: batching is ours).
        self.batch_sampler = None
        self.sampler = Shard(n_rows, rank, world_size, shuffle, seed)

    def __len__(self) -> int:
        return -(-self.sampler.per_rank // self.batch_size)

    def cut(self, rows: np.ndarray, rng: np.random.Generator | None) -> dict:
        """The batch of ``rows``; ``rng`` (None when not augmenting) draws flips."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[dict]:
        epoch = self.sampler.next_epoch()
        order, scored = self.sampler.rows(epoch)
        rng, generator = self.sampler.generators(epoch)
        augmenting = self.augmentation.get("enabled", False)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = self.cut(rows, rng if augmenting else None)
            unscored = ~scored[start : start + self.batch_size]
            if unscored.any():
                batch["mask"][torch.as_tensor(unscored, device=batch["mask"].device)] = (
                    self.volume.ignore_index
                )
            if augmenting:
                batch = augment(
                    batch,
                    generator,
                    self.augmentation.get("amplitude_scale", 0.0),
                    self.augmentation.get("noise", 0.0),
                    self.key,
                )
            yield batch


class PatchBatches(ShardedBatches):
    """Batches of patches (or whole sections) of a patch table, see :class:`ShardedBatches`."""

    def __init__(
        self,
        volume: Volume,
        table: PatchTable,
        size: tuple[int, int],
        batch_size: int,
        shuffle: bool = False,
        augmentation: dict | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(
            volume, len(table), batch_size, shuffle, augmentation, seed, rank, world_size
        )
        self.table, self.size = table, size

    def cut(self, rows: np.ndarray, rng: np.random.Generator | None) -> dict:
        # lateral flips only: the sample axis is physical time or depth
        flip = rng.random(len(rows)) < 0.5 if rng is not None else None
        return self.volume.cut(self.table, rows, self.size, flip)
