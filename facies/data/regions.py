"""Regions of a survey that patches are cut from when the survey is not held in memory.

A region is a tile of ``tile`` = (inlines, crosslines) aligned to the store's chunks,
one per patch kind (inline or crossline sections), widened by a halo of one patch width
along the patches' lateral axis so that every patch starting in the tile fits in it
(a patch's section axis is one line: no halo there), and clipped to the lateral range
its patches may read (their split). Each patch belongs to the region its start lies in.

A region is read into a small :class:`~facies.data.volume.Volume` and patches are cut
from it with the same gather as from the whole survey (:meth:`Volume.cut` on the table
rows offset into the region): a patch cut from its region equals the patch cut from the
survey in memory, padding and masks included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from facies.data.blocks import Box, NonFinite, read_box
from facies.data.normalization import NormStats
from facies.data.tiling import CROSSLINE_SECTION, INLINE_SECTION, PatchTable
from facies.data.volume import Volume
from facies.names import AMPLITUDE, IGNORE_INDEX

#: Bytes (6 a sample: amplitude and labels) a training region aims at, halo included.
REGION_BYTES = 48 * 2**20
#: Whole held-out sections are read in slabs of up to this many bytes (a chunk's lines).
SECTION_SLAB_BYTES = 128 * 2**20
BYTES_PER_SAMPLE = 6


def store_chunks(survey: xr.Dataset) -> tuple[int, int]:
    """(inlines, crosslines) of a store's amplitude chunks, from its metadata; a survey
    held in memory (no chunks recorded) counts as chunks of 32 x 32 traces."""
    chunks = survey[AMPLITUDE].encoding.get("chunks")
    if chunks is None and survey[AMPLITUDE].chunks:  # opened with dask
        chunks = tuple(c[0] for c in survey[AMPLITUDE].chunks)
    if not chunks:
        return 32, 32
    return int(chunks[0]), int(chunks[1])


def _tile(
    chunk: tuple[int, int], size: tuple[int, int], halo: int, trace: int, budget: int
) -> tuple[int, int]:
    """(across, along) of a tile over axes of ``size`` chunked ``chunk``, its region
    widened by ``halo - 1`` along: whole chunks along first (the halo then costs
    little), then across, while the region holds at most ``budget`` bytes; where one
    chunk is over the budget, fewer lines (memory first: the store reads whole chunks)."""
    (ca, cl), (na, nl) = (min(c, n) for c, n in zip(chunk, size, strict=True)), size

    def cost(across: int, along: int) -> int:
        return across * min(along + halo - 1, nl) * trace

    if cost(1, cl) > budget:  # one line of one chunk is over: cut along
        return 1, max(1, min(cl, budget // trace - halo + 1))
    if cost(ca, cl) > budget:  # one chunk is over: fewer lines across
        return max(1, budget // cost(1, cl)), cl
    along = cl
    while along < nl and cost(ca, along + cl) <= budget:
        along += cl
    across = ca
    while across < na and cost(across + ca, min(along, nl)) <= budget:
        across += ca
    return min(across, na), min(along, nl)


def training_tiles(
    chunks: dict[int, tuple[int, int]],
    shape: tuple[int, int, int],
    halo: int,
    budget: int | None = None,
) -> dict[int, tuple[int, int]]:
    """Per section kind, the (inlines, crosslines) tile training patches are grouped by,
    from the chunks (inlines, crosslines) the kind is read from: the region of a tile
    (halo included) holds at most ``budget`` bytes (:data:`REGION_BYTES`)."""
    nil, nxl, ns = shape
    budget = REGION_BYTES if budget is None else budget
    trace = ns * BYTES_PER_SAMPLE
    ci, cx = chunks[INLINE_SECTION]
    across, along = _tile((ci, cx), (nil, nxl), halo, trace, budget)
    tiles = {INLINE_SECTION: (across, along)}
    ci, cx = chunks[CROSSLINE_SECTION]
    across, along = _tile((cx, ci), (nxl, nil), halo, trace, budget)
    tiles[CROSSLINE_SECTION] = (along, across)
    return tiles


def section_tiles(
    chunks: dict[int, tuple[int, int]], shape: tuple[int, int, int], budget: int | None = None
) -> dict[int, tuple[int, int]]:
    """Per section kind, the tile whole held-out sections are read in: whole sections,
    as many whole chunks of them as fit in ``budget`` bytes (:data:`SECTION_SLAB_BYTES`),
    at least one section."""
    nil, nxl, ns = shape
    budget = SECTION_SLAB_BYTES if budget is None else budget
    trace = ns * BYTES_PER_SAMPLE

    def lines(chunk: int, n: int, length: int) -> int:
        fit = budget // max(1, length * trace)
        return max(1, min(n, (fit // chunk) * chunk if fit >= chunk else fit))

    return {
        INLINE_SECTION: (lines(chunks[INLINE_SECTION][0], nil, nxl), nxl),
        CROSSLINE_SECTION: (nil, lines(chunks[CROSSLINE_SECTION][1], nxl, nil)),
    }


@dataclass(frozen=True)
class RegionGrid:
    """Which region each patch of a table lies in, and what box of the survey it covers.

    ``tiles`` maps a section kind to its tile (inlines, crosslines); ``halo`` is the
    patch width (traces) the tile is widened by along the patches' lateral axis.
    """

    shape: tuple[int, int, int]
    tiles: dict[int, tuple[int, int]]
    halo: int
    #: Read only what a region's patches cover (their sections, their lateral span and
    #: their samples, patches ``height`` samples tall), not the whole tile: an epoch
    #: drawing a few patches a region reads that much less.
    sparse: bool = False
    height: int = 0

    def keys(self, table: PatchTable, rows: np.ndarray) -> np.ndarray:
        """One integer per row naming its region (kind and tile)."""
        nil, nxl, _ = self.shape
        kind = table.kind[rows]
        inline = kind == INLINE_SECTION
        il = np.where(inline, table.section[rows], table.lateral[rows])
        xl = np.where(inline, table.lateral[rows], table.section[rows])
        ti = np.array([self.tiles[int(k)][0] for k in (0, 1)])[kind]
        tx = np.array([self.tiles[int(k)][1] for k in (0, 1)])[kind]
        return (kind.astype(np.int64) * (nil + 1) + il // ti) * (nxl + 1) + xl // tx

    def kind(self, key: int) -> int:
        """The section kind of region ``key``."""
        nil, nxl, _ = self.shape
        return int(key) // ((nil + 1) * (nxl + 1))

    def box(self, key: int, table: PatchTable, rows: np.ndarray) -> Box:
        """The survey box of region ``key``, whose patches are ``rows`` of ``table``."""
        nil, nxl, _ = self.shape
        kind, rest = divmod(int(key), (nil + 1) * (nxl + 1))
        ti_index, tx_index = divmod(rest, nxl + 1)
        ti, tx = self.tiles[kind]
        i0, x0 = ti_index * ti, tx_index * tx
        i1, x1 = min(i0 + ti, nil), min(x0 + tx, nxl)
        lo, hi = int(table.lateral_lo[rows].min()), int(table.lateral_hi[rows].max())
        if self.sparse:  # the rows' sections, from their first lateral start to past the last
            lateral, sections = table.lateral[rows], tuple(np.unique(table.section[rows]).tolist())
            first, last = int(lateral.min()), int(lateral.max()) + self.halo
            sample = table.sample[rows]  # and the samples they span
            s0, s1 = int(sample.min()), min(int(sample.max()) + self.height, self.shape[2])
            if kind == INLINE_SECTION:
                x0, x1 = max(first, lo), min(last, nxl, hi)
                return Box(sections[0], sections[-1] + 1, x0, x1, inlines=sections, s0=s0, s1=s1)
            i0, i1 = max(first, lo), min(last, nil, hi)
            return Box(i0, i1, sections[0], sections[-1] + 1, crosslines=sections, s0=s0, s1=s1)
        if kind == INLINE_SECTION:
            x0, x1 = max(x0, lo), min(x1 + self.halo - 1, nxl, hi)
        else:
            i0, i1 = max(i0, lo), min(i1 + self.halo - 1, nil, hi)
        return Box(i0, i1, x0, x1)


def local_table(table: PatchTable, rows: np.ndarray, box: Box) -> PatchTable:
    """``rows`` of ``table`` with their indices offset into ``box``."""
    inline = table.kind[rows] == INLINE_SECTION
    section = np.where(
        inline,
        np.searchsorted(box.inline_index, table.section[rows]),
        np.searchsorted(box.crossline_index, table.section[rows]),
    )
    lateral_origin = np.where(inline, box.x0, box.i0)
    lateral_stop = np.where(inline, box.x1, box.i1)
    return PatchTable(
        table.kind[rows],
        section,
        table.lateral[rows] - lateral_origin,
        table.sample[rows] - box.s0,
        np.maximum(table.lateral_lo[rows] - lateral_origin, 0),
        np.minimum(table.lateral_hi[rows], lateral_stop) - lateral_origin,
    )


def cut_region(
    volume: Volume,
    box: Box,
    table: PatchTable,
    rows: np.ndarray,
    size: tuple[int, int],
    flip: np.ndarray | None = None,
) -> dict:
    """Patches ``rows`` of ``table`` cut from ``volume`` (the survey's ``box``): the batch
    :meth:`Volume.cut` gives on the whole survey, with the survey's indices in
    ``section``, ``lateral`` and ``sample``."""
    local = local_table(table, rows, box)
    batch = volume.cut(local, np.arange(len(rows)), size, flip)
    device = batch["section"].device
    batch["section"] = torch.as_tensor(table.section[rows], device=device)
    batch["lateral"] = torch.as_tensor(table.lateral[rows], device=device)
    batch["sample"] = torch.as_tensor(table.sample[rows], device=device)
    return batch


def labelled_rows(
    volume: Volume, box: Box, table: PatchTable, rows: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Which patches ``rows`` (of region ``box``) hold a labelled sample: the mask of
    :func:`cut_region` has a value other than the ignore value, counted with summed-area
    tables instead of cutting every patch."""
    local = local_table(table, rows, box)
    labelled = volume.labels.numpy() != volume.ignore_index
    keep = np.zeros(len(rows), dtype=bool)
    h, w = size
    ns = labelled.shape[2]
    for kind in (0, 1):
        picked = np.flatnonzero(local.kind == kind)
        if not len(picked):
            continue
        # sections first: (section, lateral, sample), each padded with a zero row and column
        planes = labelled if kind == INLINE_SECTION else labelled.transpose(1, 0, 2)
        sums = np.zeros((planes.shape[0], planes.shape[1] + 1, ns + 1), dtype=np.int64)
        np.cumsum(np.cumsum(planes, axis=1, dtype=np.int64), axis=2, out=sums[:, 1:, 1:])
        section = local.section[picked]
        a1 = local.lateral[picked]
        a2 = np.minimum(a1 + w, local.lateral_hi[picked])
        b1 = local.sample[picked]
        b2 = np.minimum(b1 + h, ns)
        count = (
            sums[section, a2, b2] - sums[section, a1, b2] - sums[section, a2, b1]
            + sums[section, a1, b1]
        )  # fmt: skip
        keep[picked] = count > 0
    return keep


def read_region(
    survey: xr.Dataset,
    box: Box,
    stats: NormStats,
    live: np.ndarray,
    ignore_label: int | None,
    nonfinite: NonFinite | None,
) -> Volume:
    """The survey's ``box`` as a :class:`Volume` (normalised, unscored samples ignored).

    Non-finite amplitude samples are counted in ``nonfinite`` (masked); with None they are
    refused (:meth:`NonFinite.error`)."""
    amplitude, labels, invalid = read_box(survey, box, stats, live, ignore_label)
    if invalid.any():
        if nonfinite is None:
            found = NonFinite()
            found.add(invalid)
            raise found.error()
        nonfinite.add(invalid)
    return Volume(amplitude, labels, IGNORE_INDEX)


def region_bytes(box: Box, samples: int) -> int:
    return math.prod(box.shape) * samples * BYTES_PER_SAMPLE
