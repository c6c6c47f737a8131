"""Where 2-D patches start on inline and crossline sections.

Along each axis, tiles of ``size`` start every ``stride`` samples; the last tile is
shifted back to end exactly at the border, so every sample is covered and edge tiles
overlap their neighbour more than others. An axis shorter than a tile gets one tile,
padded past the end (amplitude 0, label = ignore value) when patches are cut.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from facies.data.splits import InlineRange
from facies.errors import ConfigError

INLINE_SECTION = 0
CROSSLINE_SECTION = 1

#: Section directions, by name (the values of ``directions`` settings).
SECTION_DIRECTIONS = ("inline", "crossline")

log = logging.getLogger(__name__)


def tile_starts(length: int, size: int, stride: int) -> np.ndarray:
    """Start positions of tiles of ``size`` covering ``0:length`` (see module doc)."""
    if size <= 0 or stride <= 0:
        raise ConfigError(f"patch size {size} and stride {stride} must be positive.")
    if length <= size:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, length - size + 1, stride, dtype=np.int64)
    if starts[-1] + size < length:
        starts = np.append(starts, length - size)
    return starts


@dataclass(frozen=True)
class PatchTable:
    """One row per patch: section kind and index, lateral and sample start, lateral range.

    ``lateral_lo:lateral_hi`` is the range the patch may read along its lateral axis
    (for crossline sections: its split's inline range), anything past it is padding.
    """

    kind: np.ndarray
    section: np.ndarray
    lateral: np.ndarray
    sample: np.ndarray
    lateral_lo: np.ndarray
    lateral_hi: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def subset(self, keep: np.ndarray) -> PatchTable:
        return PatchTable(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def patch_table(
    region: InlineRange,
    n_crosslines: int,
    n_samples: int,
    size: tuple[int, int],
    stride: tuple[int, int],
    directions: tuple[str, ...] = ("inline", "crossline"),
) -> PatchTable:
    """Patches of ``size`` = (samples, traces) on sections inside one split's region.

    Inline sections are those of the region's inlines; crossline sections are cut only
    inside the region's inline range, so no patch reads another split's traces.
    """
    rows = []
    sample_starts = tile_starts(n_samples, size[0], stride[0])
    if "inline" in directions:
        lateral = tile_starts(n_crosslines, size[1], stride[1])
        for il in range(region.start, region.stop):
            rows.append(_rows(INLINE_SECTION, il, lateral, sample_starts, 0, n_crosslines))
    if "crossline" in directions:
        lateral = region.start + tile_starts(len(region), size[1], stride[1])
        for xl in range(n_crosslines):
            rows.append(
                _rows(CROSSLINE_SECTION, xl, lateral, sample_starts, region.start, region.stop)
            )
    if not rows:
        raise ConfigError(f"no patch directions among {directions}; use inline and/or crossline.")
    return PatchTable(*(np.concatenate(col) for col in zip(*rows, strict=True)))


def _rows(kind: int, section: int, lateral: np.ndarray, samples: np.ndarray, lo: int, hi: int):
    lat, smp = np.meshgrid(lateral, samples, indexing="ij")
    n = lat.size
    return (
        np.full(n, kind),
        np.full(n, section),
        lat.ravel(),
        smp.ravel(),
        np.full(n, lo),
        np.full(n, hi),
    )


def section_table(
    region: InlineRange, n_crosslines: int, n_samples: int, direction: str, multiple: int = 1
) -> tuple[PatchTable, tuple[int, int]]:
    """Whole sections of one direction inside a split's region, one row (patch) each, and
    their size (samples, traces) padded up to ``multiple`` (what the model needs).

    Inline sections span all crosslines; crossline sections span only the region's
    inlines, so a held-out crossline section never reads another split's traces (the
    padding past ``lateral_hi`` is masked when cut, as for training patches).
    """
    if direction not in SECTION_DIRECTIONS:
        raise ConfigError(
            f"section direction {direction!r} is not one of {list(SECTION_DIRECTIONS)}."
        )
    width = n_crosslines if direction == "inline" else len(region)
    size = (math.ceil(n_samples / multiple) * multiple, math.ceil(width / multiple) * multiple)
    # a tile as large as the padded section, so each section is one patch
    return patch_table(region, n_crosslines, n_samples, size, size, (direction,)), size


def crossline_width(block: int, width: int, multiple: int) -> int:
    """The lateral size (inlines) of training crossline patches in a training block of
    ``block`` inlines: the patch width ``width`` when it fits, else the largest multiple of
    the model's size ``multiple`` that does (0: none fits)."""
    if block >= width:
        return width
    return (block // multiple) * multiple


def training_tables(
    region: InlineRange,
    n_crosslines: int,
    n_samples: int,
    size: tuple[int, int],
    stride: tuple[int, int],
    directions: tuple[str, ...],
    multiple: int = 1,
) -> list[tuple[PatchTable, tuple[int, int]]]:
    """The training patches of a training block, as (table, patch size) groups.

    Inline patches are ``size``. A crossline patch spans ``size[1]`` inlines; when the
    training block has fewer, crossline patches are cut ``crossline_width`` inlines wide
    (a multiple of the model's size multiple), so no training patch reaches past the
    block, and their stride is at most that width. When none fits, crossline patches are
    left out with a warning (or refused when they are the only direction). One group
    when all patches have one size (the usual case), two otherwise: a batch holds
    patches of one size.
    """
    unknown = [d for d in directions if d not in SECTION_DIRECTIONS]
    if unknown or not directions:
        raise ConfigError(f"no patch directions among {directions}; use inline and/or crossline.")
    groups = []
    if "inline" in directions:
        groups.append(
            (patch_table(region, n_crosslines, n_samples, size, stride, ("inline",)), size)
        )
    if "crossline" in directions:
        width = crossline_width(len(region), size[1], multiple)
        if width == 0:
            message = (
                f"the training block has {len(region)} inlines, fewer than the model's size "
                f"multiple {multiple}: no crossline patch fits in it (data.patch width {size[1]})"
            )
            if "inline" not in directions:
                raise ConfigError(
                    f"{message}; train on inline patches too (data.directions=[inline,crossline]) "
                    "or give the training block more inlines (data.splits)."
                )
            log.warning("%s; training on inline patches only", message)
        else:
            if width < size[1]:
                log.info(
                    "the training block has %d inlines, fewer than the patch width %d: "
                    "crossline patches are %d inlines wide",
                    len(region), size[1], width,
                )  # fmt: skip
            xsize, xstride = (size[0], width), (stride[0], min(stride[1], width))
            table = patch_table(region, n_crosslines, n_samples, xsize, xstride, ("crossline",))
            if groups and xsize == size:
                merged = PatchTable(
                    *(
                        np.concatenate([getattr(groups[0][0], f), getattr(table, f)])
                        for f in PatchTable.__dataclass_fields__
                    )
                )
                groups[0] = (merged, size)
            else:
                groups.append((table, xsize))
    return groups
