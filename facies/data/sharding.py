"""Which rows of a split each process reads, and in which order, epoch by epoch.

Lightning gives a ``DataLoader`` a ``DistributedSampler`` under DDP; our batch
iterables (:mod:`facies.data.patches`, :mod:`facies.data.traces`) are not DataLoaders,
so they shard themselves with a :class:`Shard`, which follows the same rules:

- training: one permutation per epoch, the same on every rank (seeded by the seed and
  the epoch), cut to the epoch's budget (``draw`` rows: ``data.patches_per_epoch``, so
  each epoch draws a fresh subset of the whole split), wrapped round to a multiple of the
  world size; rank ``r`` takes every ``world_size``-th row from ``r``. Every rank gets
  as many rows (so as many batches: DDP's gradient all-reduce needs that), each a
  different part of the split;
- evaluation: rank ``r`` takes rows ``r, r + W, r + 2W, ...`` in order; a rank left one
  row short repeats a row *unscored* (its labels are masked), so every row is scored
  exactly once over all ranks and every rank still runs the same number of batches.
  Held-out sections of each direction (inline, crossline: their sizes differ) are
  sharded as splits of their own, one after the other, so each section of each direction
  is scored exactly once.

Lightning calls :meth:`Shard.set_epoch` at the start of each epoch (it looks for
``iterable.sampler.set_epoch``, as for a DistributedSampler), so the order and the
augmentation of an epoch depend only on (seed, epoch, rank): a resumed run draws what
the uninterrupted run would have drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from facies.errors import ConfigError


@dataclass
class Shard:
    """This process's share of ``n`` rows.

    Args:
        n: rows in the split (patches, sections or traces).
        rank: this process's global rank.
        world_size: number of processes.
        shuffle: training order (see module doc); otherwise evaluation order.
        seed: seeds the order and the augmentation streams.
        epoch: the current epoch; set by Lightning, else advanced by each iteration.
        draw: rows a training epoch draws from the ``n`` (None: all of them, in a new
            order each epoch); evaluation always reads all.
        stream: another independent stream of orders and augmentation for the same seed
            (the groups of patches of another size draw their own); 0 is the default one.
    """

    n: int
    rank: int = 0
    world_size: int = 1
    shuffle: bool = False
    seed: int = 0
    epoch: int = 0
    draw: int | None = None
    stream: int = 0

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ConfigError(
                f"rank {self.rank} of world size {self.world_size}: the rank must lie in "
                "[0, world_size); check the DDP settings (trainer.devices, num_nodes)."
            )

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch (as for a DistributedSampler)."""
        self.epoch = int(epoch)

    @property
    def per_rank(self) -> int:
        """Rows each rank gets (the same for every rank)."""
        return -(-self.drawn // self.world_size)

    @property
    def drawn(self) -> int:
        """Rows one epoch reads over all ranks (before wrapping round)."""
        if self.shuffle and self.draw is not None:
            return min(self.n, max(0, int(self.draw)))
        return self.n

    def _key(self, *values: int) -> list[int]:
        return [self.seed, *values, *([self.stream] if self.stream else [])]

    def rows(self, epoch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """This rank's rows for an epoch (default: the current one) and which are scored."""
        epoch = self.epoch if epoch is None else epoch
        if self.drawn == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        total = self.per_rank * self.world_size
        if self.shuffle:
            order = np.random.default_rng(self._key(epoch)).permutation(self.n)[: self.drawn]
            padded, scored = np.resize(order, total), np.ones(total, dtype=bool)
        else:
            padded, scored = np.resize(np.arange(self.n), total), np.arange(total) < self.n
        return padded[self.rank :: self.world_size], scored[self.rank :: self.world_size]

    def next_epoch(self) -> int:
        """The epoch to draw now; advances the counter for callers without Lightning."""
        epoch = self.epoch
        self.epoch += 1
        return epoch

    def generators(
        self, epoch: int, device: torch.device | str = "cpu"
    ) -> tuple[np.random.Generator, torch.Generator]:
        """Augmentation random streams of one (seed, epoch, rank): numpy and torch.

        The torch generator lives on ``device``: on a GPU, noise and flips are drawn there
        (no host work or host-to-device copy per batch). Its stream differs from the CPU
        generator's of the same seed, so a run is reproducible per device type."""
        numpy_seq, torch_seq = np.random.SeedSequence(self._key(epoch, self.rank)).spawn(2)
        torch_seed = int(torch_seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        generator = torch.Generator(device=device).manual_seed(torch_seed)
        return np.random.default_rng(numpy_seq), generator
