"""Where 2-D patches start on inline and crossline sections.

Along each axis, tiles of ``size`` start every ``stride`` samples; the last tile is
shifted back to end exactly at the border, so every sample is covered and edge tiles
overlap their neighbour more than others. An axis shorter than a tile gets one tile,
padded past the end (amplitude 0, label = ignore value) when patches are cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from facies.data.splits import InlineRange
from facies.errors import ConfigError

INLINE_SECTION = 0
CROSSLINE_SECTION = 1

#: Section directions, by name (the values of ``directions`` settings).
SECTION_DIRECTIONS = ("inline", "crossline")


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
