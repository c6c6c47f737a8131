"""Batches of patches, or of whole sections, cut from a :class:`~facies.data.volume.Volume`."""

from __future__ import annotations

import torch

from facies.data.batches import Random, Rows, ShardedBatches
from facies.data.tiling import PatchTable
from facies.data.volume import Volume


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
        draw: int | None = None,
        stream: int = 0,
    ) -> None:
        super().__init__(
            volume, len(table), batch_size, shuffle, augmentation, seed, rank, world_size,
            draw, stream,
        )  # fmt: skip
        self.table, self.size = table, size

    def cut(self, rows: Rows, rng: Random | None) -> dict:
        # lateral flips only: the sample axis is physical time or depth
        if rng is None:
            flip = None
        elif isinstance(rng, torch.Generator):  # on the volume's GPU
            flip = torch.rand(len(rows), generator=rng, device=rng.device) < 0.5
        else:
            flip = rng.random(len(rows)) < 0.5
        return self.volume.cut(self.table, rows, self.size, flip)
