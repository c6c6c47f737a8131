"""One epoch loop for every kind of batch: DDP sharding, unscored-row masking, augmentation.

:class:`ShardedBatches` is the base of patch batches (:mod:`facies.data.patches`) and
trace batches (:mod:`facies.data.traces`); it owns what both share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from facies.data.sharding import Shard
from facies.data.volume import Volume

#: Rows of a batch: a NumPy array on the CPU, a tensor on the volume's GPU.
Rows = np.ndarray | torch.Tensor
#: Random draws of a batch: NumPy's on the CPU, a torch generator on the volume's GPU.
Random = np.random.Generator | torch.Generator


def augment(
    batch: dict, generator: torch.Generator, scale: float, noise: float, key: str = "image"
) -> dict:
    """Amplitude scaling (one factor per example) and noise on ``batch[key]``, any shape
    with examples first (lateral flips of patches happen in :meth:`Volume.cut`).

    Drawn on the generator's device: a generator on the batch's GPU draws there."""
    values = batch[key]
    n, device = values.shape[0], values.device
    draw_on = generator.device
    if scale:
        factor = 1 + scale * (2 * torch.rand(n, generator=generator, device=draw_on) - 1)
        values = values * factor.to(device).reshape(n, *[1] * (values.dim() - 1))
    if noise:
        jitter = torch.randn(values.shape, generator=generator, device=draw_on).to(device)
        values = values + noise * jitter
    return {**batch, key: values}


class ShardedBatches:
    """An epoch of batches over ``n_rows`` examples; shuffled and augmented when training.

    Under DDP each rank reads its own :class:`~facies.data.sharding.Shard` of the rows
    (``rank``, ``world_size``); rows a rank repeats only to keep batch counts equal are
    masked with the ignore value, so they add nothing to the loss or the metrics.
    Subclasses say how rows become a batch (:meth:`cut`) and which entry is augmented.
    ``draw`` limits a training epoch to that many rows, drawn afresh each epoch
    (``data.patches_per_epoch``); ``stream`` picks an independent random stream.
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
        draw: int | None = None,
        stream: int = 0,
    ) -> None:
        self.volume, self.batch_size, self.shuffle = volume, batch_size, shuffle
        self.augmentation = augmentation or {}
        #: Lightning calls ``sampler.set_epoch`` each epoch, as for a DistributedSampler
        #: (and, as on a DataLoader, reads ``batch_sampler``: batching is ours).
        self.batch_sampler = None
        self.sampler = Shard(n_rows, rank, world_size, shuffle, seed, draw=draw, stream=stream)

    def __len__(self) -> int:
        return -(-self.sampler.per_rank // self.batch_size)

    def cut(self, rows: Rows, rng: Random | None) -> dict:
        """The batch of ``rows``; ``rng`` (None when not augmenting) draws flips.

        On the CPU ``rows`` is a NumPy array and ``rng`` a NumPy generator; with the volume
        on a GPU both are on the device (a tensor of rows, a torch generator there), so
        cutting a batch needs no host work (see :meth:`on_device`)."""
        raise NotImplementedError

    def on_device(self, device: torch.device) -> None:
        """Hold what :meth:`cut` indexes by row on ``device`` (called once an epoch when
        the volume is on a GPU; subclasses with per-row arrays override it)."""

    def __iter__(self) -> Iterator[dict]:
        epoch = self.sampler.next_epoch()
        order, scored = self.sampler.rows(epoch)
        device = self.volume.device
        rng, generator = self.sampler.generators(epoch, device)
        if device.type != "cpu":
            # one copy of the epoch's order; rows, flips and noise then stay on the device
            self.on_device(device)
            order, rng = torch.as_tensor(order, device=device), generator
        augmenting = self.augmentation.get("enabled", False)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = self.cut(rows, rng if augmenting else None)
            unscored = ~scored[start : start + self.batch_size]
            yield self.finish(batch, unscored, generator if augmenting else None)

    def finish(self, batch: dict, unscored: np.ndarray, generator: torch.Generator | None) -> dict:
        """Mask the rows repeated only to even out DDP shards (``unscored``), then
        augment with ``generator`` (None: no augmentation)."""
        if unscored.any():
            where = torch.as_tensor(unscored, device=batch["mask"].device)
            batch["mask"][where] = self.volume.ignore_index
        if generator is None:
            return batch
        return augment(
            batch,
            generator,
            self.augmentation.get("amplitude_scale", 0.0),
            self.augmentation.get("noise", 0.0),
            self.key,
        )


def budget_shares(budget: int | None, sizes: Sequence[int]) -> list[int | None]:
    """Split an epoch's budget of rows over groups of ``sizes`` rows, in proportion to
    their sizes (largest remainders, so the shares add up to the budget; None: all rows)."""
    total = sum(sizes)
    if budget is None or budget >= total:
        return [None] * len(sizes)
    exact = [budget * n / total for n in sizes]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(sizes)), key=lambda i: exact[i] - shares[i], reverse=True):
        if sum(shares) >= budget:
            break
        shares[i] += 1
    return shares


class EpochSetter:
    """The ``sampler`` of :class:`InterleavedBatches`: Lightning's ``set_epoch`` reaches
    every part's shard."""

    def __init__(self, parts: Sequence[ShardedBatches]) -> None:
        self.parts = parts

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.sampler.set_epoch(epoch)

    @property
    def epoch(self) -> int:
        return self.parts[0].sampler.epoch


class InterleavedBatches:
    """Training batches of several groups of patches of different sizes (inline patches,
    and crossline patches narrowed to a small training block), a batch holding one
    group's patches; the groups' batches are interleaved in an order drawn from
    (seed, epoch), the same on every rank. Each group is sharded on its own, so every
    rank runs as many batches of each group (DDP needs equal counts)."""

    def __init__(self, parts: Sequence[ShardedBatches], seed: int) -> None:
        self.parts = [part for part in parts if len(part)]
        self.seed = seed
        self.batch_sampler = None
        self.sampler = EpochSetter(self.parts)

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __iter__(self) -> Iterator[dict]:
        if not self.parts:
            return
        epoch = self.sampler.epoch
        slots = np.concatenate([np.full(len(p), i) for i, p in enumerate(self.parts)])
        order = np.random.default_rng([self.seed, epoch, len(self.parts)]).permutation(slots)
        streams = [iter(part) for part in self.parts]
        for i in order:
            yield next(streams[i])
