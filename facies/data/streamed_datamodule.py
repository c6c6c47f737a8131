"""The data module of a survey streamed from its store (``data.in_memory=false``, or
``auto`` when the survey would not fit in memory).

The same splits, patch tables, labelled-patch rule, normalisation, augmentation and DDP
shards as :class:`~facies.data.datamodule.SurveyDataModule`; only where patches come from
differs: regions of the store read as the epoch goes (:mod:`facies.data.streamed`),
never the whole survey. Memory stays bounded by a few regions whatever the survey's size.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import xarray as xr

from facies.data.batches import ShardedBatches
from facies.data.blocks import Box, read_box
from facies.data.datamodule import READ_BLOCK_BYTES, SurveyDataModule
from facies.data.memory import gib
from facies.data.regions import (
    RegionGrid,
    labelled_rows,
    region_bytes,
    section_tiles,
    training_tiles,
)
from facies.data.streamed import (
    AHEAD,
    HELD_SLABS,
    WINDOW,
    Prefetch,
    RegionReader,
    ReleasingBatches,
    StoreSections,
    StreamedPatchBatches,
    crossline_copy,
)
from facies.data.tiling import PatchTable
from facies.errors import ConfigError
from facies.names import IGNORE_INDEX, LIVE, TRACES

log = logging.getLogger(__name__)


class StreamedSurveyDataModule(SurveyDataModule):
    """:class:`SurveyDataModule` over a survey that stays in its store (same arguments).

    Trace models (the LSTM) are not streamed: they are refused here."""

    def __init__(self, survey: xr.Dataset, **options) -> None:
        super().__init__(survey, **options)
        if self.consumes == TRACES:
            raise ConfigError(
                "streamed training (data.in_memory=false) cuts patches for models that read "
                "sections; a trace model (model=lstm) needs the survey in memory: use "
                "data.in_memory=true, or train it on part of the survey (data.splits.ranges)."
            )
        self.reader: RegionReader | None = None
        self.grid: RegionGrid | None = None

    def _check_memory(self) -> None:
        """Nothing is refused: the regions held are bounded (logged once they are known)."""

    def _load(self) -> None:
        self.reader = RegionReader(
            self.survey, self.norm_stats, self.mask_nonfinite, crossline_copy(self.survey)
        )
        shape, chunks = self.reader.shape, self.reader.chunks
        tiles = training_tiles(chunks, shape, self.patch[1])
        self.grid = RegionGrid(shape, tiles, self.patch[1], sparse=True, height=self.patch[0])
        regions = [
            Box(0, min(ti + self.patch[1], shape[0]), 0, min(tx + self.patch[1], shape[1]))
            for ti, tx in self.grid.tiles.values()
        ]
        region = max(region_bytes(box, shape[2]) for box in regions)
        slab = max(
            region_bytes(Box(0, ti, 0, tx), shape[2])
            for ti, tx in section_tiles(chunks, shape).values()
        )
        log.info(
            "streaming the survey from its store: chunks %s (inline, crossline patches), "
            "training regions %s, at most about %s of regions held (regions of up to %s) "
            "and %s of held-out sections",
            list(chunks.values()), list(self.grid.tiles.values()),
            gib((2 * WINDOW + AHEAD + 1) * region), gib(region), gib(HELD_SLABS * slab),
        )  # fmt: skip

    def _held_source(self, survey: xr.Dataset) -> StoreSections:
        if survey is self.survey:
            reader = self.reader
        else:
            reader = RegionReader(
                survey, self.norm_stats, self.mask_nonfinite, crossline_copy(survey)
            )
        grid = RegionGrid(reader.shape, section_tiles(reader.chunks, reader.shape), 1)
        return StoreSections(reader, grid)

    def _labelled(
        self, groups: list[tuple[PatchTable, tuple[int, int]]]
    ) -> list[tuple[PatchTable, tuple[int, int]]]:
        """Drop patches without one labelled sample, region by region (the rule of the
        in-memory module, counted on each region once)."""
        kept = []
        for table, size in groups:
            rows = np.arange(len(table))
            keys = self.grid.keys(table, rows)
            unique, inverse = np.unique(keys, return_inverse=True)
            by_region = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[by_region], np.arange(len(unique) + 1))
            members = [by_region[bounds[p] : bounds[p + 1]] for p in range(len(unique))]
            boxes = [
                (self.grid.kind(k), self.grid.box(k, table, m))
                for k, m in zip(unique, members, strict=True)
            ]
            keep = np.zeros(len(table), dtype=bool)
            prefetch = Prefetch(self.reader.read, boxes, AHEAD)
            try:
                for (_, box), member in zip(boxes, members, strict=True):
                    keep[member] = labelled_rows(prefetch.next(), box, table, member, size)
            finally:
                prefetch.close()
            if keep.any():
                kept.append((table.subset(keep), size))
        found = self.reader.nonfinite
        if found is not None and found.samples:
            log.warning("non-finite amplitude samples masked in the training regions: %d "
                        "samples (%d traces), counted once per region that read them "
                        "(regions overlap)", found.samples, found.traces)  # fmt: skip
        if not kept:
            raise ConfigError("no training patch holds a labelled sample; check the labels.")
        return kept

    def move_to(self, device) -> None:
        """Read regions ahead in a background thread when training on a GPU, and hand
        batches over in pinned memory there; on the CPU read each region when needed (a
        reading thread would compete with training's cores)."""
        super().move_to(device)
        if self.reader is not None:
            kind = torch.device(device).type
            self.reader.ahead = AHEAD if kind != "cpu" else 0
            self.reader.pin = kind == "cuda"

    def class_weights(self) -> list[float]:
        """Inverse-frequency class weights from the training region's labels (mean 1),
        counted a block of inlines at a time."""
        train = self.splits["train"]
        nxl, ns = self.survey.sizes["crossline"], self.survey.sizes["sample"]
        live = np.asarray(self.survey[LIVE].values)
        counts = np.zeros(len(self.class_names), dtype=np.int64)
        step = max(1, READ_BLOCK_BYTES // max(1, nxl * ns * 4))
        for start in range(train.start, train.stop, step):
            box = Box(start, min(start + step, train.stop), 0, nxl)
            ignore = self.survey.attrs.get("ignore_label")
            _, labels, _ = read_box(self.survey, box, self.norm_stats, live, ignore)
            labels = labels[labels != IGNORE_INDEX]
            counts += np.bincount(labels, minlength=len(counts))[: len(counts)]
        weights = counts.sum() / np.maximum(counts, 1) / len(counts)
        return (weights / weights.mean()).tolist()

    def _batches(self, name: str, train: bool):
        batches = super()._batches(name, train)
        if train:
            return batches
        return ReleasingBatches(batches, [self.held_out[name].volume])

    def _training_part(
        self, table: PatchTable, size: tuple[int, int], draw: int | None, stream: int, shard: dict
    ) -> ShardedBatches:
        return StreamedPatchBatches(
            self.reader, self.grid, table, size, self.batch_size, True, self.augmentation,
            **shard, draw=draw, stream=stream,
        )  # fmt: skip
