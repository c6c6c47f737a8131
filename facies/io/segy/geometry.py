"""Inline/crossline geometry built from trace header values.

The grid spans the smallest to the largest line number in steps of the greatest
common step, so missing traces and irregular outlines become dead cells (``live``
False) instead of being assumed away. Traces may come in any order.

A cell is live when it holds a trace that its header does not flag dead (see
:data:`facies.io.segy.scan.DEAD_TRACE_CODES`). All-zero traces are told apart only
when the samples are decoded: the readers take them out of the live mask then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import reduce
from math import gcd

import numpy as np

from facies.errors import GeometryError, GeometryOptionError
from facies.io.segy import fields
from facies.io.segy.fields import line_pairs_hint

log = logging.getLogger(__name__)

#: Below this live fraction the reader warns; below ``min_live_fraction`` it refuses.
WARN_LIVE_FRACTION = 0.5
MIN_LIVE_FRACTION = 0.1
#: A grid sparser than ``min_live_fraction`` is read when its traces all lie on lines at
#: least this full (a SEG-Y holding only a few interpreted inlines and crosslines).
SECTION_FULL = 0.5
#: A line is an interpreted section only with at least this many traces.
SECTION_TRACES = 8
#: Whatever the thresholds, a grid may hold at most this many cells per trace.
MAX_CELLS_PER_TRACE = 1000


@dataclass(frozen=True)
class Grid:
    """Where each kept trace of the file sits on the inline/crossline grid."""

    inlines: np.ndarray
    crosslines: np.ndarray
    traces: np.ndarray  # file trace numbers kept (all, or those of one offset)
    il_index: np.ndarray
    xl_index: np.ndarray
    sorting: str  # "inline", "crossline" or "unsorted"
    #: Per kept trace: True where the trace header flags it dead (None: none is).
    flagged_dead: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.inlines), len(self.crosslines)

    @property
    def cells(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def dead_flagged(self) -> int:
        """Number of kept traces whose header flags them dead."""
        return 0 if self.flagged_dead is None else int(np.count_nonzero(self.flagged_dead))

    @property
    def missing(self) -> int:
        """Number of grid cells without a trace."""
        return self.cells - len(self.traces)

    @property
    def trace_fraction(self) -> float:
        """Share of the grid's cells that hold a trace, dead-flagged or not (geometry)."""
        return len(self.traces) / self.cells

    @property
    def live_fraction(self) -> float:
        """Share of the grid's cells that hold a trace not flagged dead."""
        return (len(self.traces) - self.dead_flagged) / self.cells

    def trace_mask(self) -> np.ndarray:
        """(inline, crossline) True where a cell holds a trace, dead-flagged or not."""
        present = np.zeros(self.shape, dtype=bool)
        present[self.il_index, self.xl_index] = True
        return present

    def live_mask(self) -> np.ndarray:
        """(inline, crossline) True where a cell holds a trace not flagged dead."""
        live = np.zeros(self.shape, dtype=bool)
        keep = slice(None) if self.flagged_dead is None else ~self.flagged_dead
        live[self.il_index[keep], self.xl_index[keep]] = True
        return live

    def is_dense_inline_order(self) -> bool:
        """True when trace k of the file is cell k of the inline-major grid."""
        n = len(self.traces)
        if n != self.shape[0] * self.shape[1] or self.traces[-1] != n - 1:
            return False
        flat = self.il_index.astype(np.int64) * self.shape[1] + self.xl_index
        return bool(np.array_equal(flat, np.arange(n)))


def _axis(values: np.ndarray) -> tuple[int, int, int, np.ndarray]:
    """First value, step, count of the regular axis through ``values``; index of each."""
    unique = np.unique(values).astype(np.int64)
    step = reduce(gcd, np.diff(unique).tolist(), 0) or 1
    first = int(unique[0])
    count = (int(unique[-1]) - first) // step + 1
    index = (values.astype(np.int64) - first) // step
    return first, step, count, index.astype(np.int32 if count < 2**31 else np.int64)


def _sorting(il_index: np.ndarray, xl_index: np.ndarray) -> str:
    """ "inline" when each inline's traces are contiguous in the file, and so on."""

    def changes(index: np.ndarray) -> int:
        return int(np.count_nonzero(np.diff(index)))

    il_changes, xl_changes = changes(il_index), changes(xl_index)
    il_runs = il_changes == len(np.unique(il_index)) - 1
    xl_runs = xl_changes == len(np.unique(xl_index)) - 1
    if il_runs and (not xl_runs or il_changes <= xl_changes):
        return "inline"
    if xl_runs:
        return "crossline"
    return "unsorted"


def build_grid(
    ilines: np.ndarray,
    xlines: np.ndarray,
    offsets: np.ndarray,
    *,
    source: str,
    iline_byte: int,
    xline_byte: int,
    offset_byte: int,
    offset: int | None = None,
    min_live_fraction: float = MIN_LIVE_FRACTION,
    flagged_dead: np.ndarray | None = None,
) -> Grid:
    """Place every trace on an inline/crossline grid.

    Args:
        ilines, xlines, offsets: header values, one per trace of the file.
        source: file name for messages.
        iline_byte, xline_byte, offset_byte: where the values came from, for messages.
        offset: keep only traces with this offset (prestack files).
        min_live_fraction: refuse grids with fewer cells holding a trace than this (0
            disables). Traces flagged dead count here: this checks the geometry.
        flagged_dead: one bool per trace of the file, True where its header flags it dead.

    Raises:
        GeometryError: several traces share an inline/crossline pair, the offset is
            absent, or the grid is too sparse to be a 3-D survey.
    """
    traces = np.arange(len(ilines), dtype=np.int64)
    if offset is not None:
        keep = offsets == offset
        if not keep.any():
            found = np.unique(offsets)
            raise GeometryError(
                f"{source}: no trace has offset {offset} (byte {offset_byte}); the offsets "
                f"present are {found[:20].tolist()}. Pick one of them."
            )
        traces, ilines, xlines, offsets = traces[keep], ilines[keep], xlines[keep], offsets[keep]
        flagged_dead = None if flagged_dead is None else flagged_dead[keep]
    il0, il_step, nil, il_index = _axis(ilines)
    xl0, xl_step, nxl, xl_index = _axis(xlines)
    if nil * nxl > MAX_CELLS_PER_TRACE * len(traces):
        raise GeometryOptionError(
            f"{source}: inlines {il0}..{il0 + (nil - 1) * il_step} (byte {iline_byte}) and "
            f"crosslines {xl0}..{xl0 + (nxl - 1) * xl_step} (byte {xline_byte}) span "
            f"{nil * nxl} grid cells for {len(traces)} traces: these bytes do not hold a 3-D "
            "grid. Set {key}=... and {xline}=... to the header bytes your survey uses.",
            option="iline",
            others=("xline",),
        )
    inlines = il0 + il_step * np.arange(nil, dtype=np.int64)
    crosslines = xl0 + xl_step * np.arange(nxl, dtype=np.int64)
    sorting = _sorting(il_index, xl_index)
    flagged = None if flagged_dead is None else np.asarray(flagged_dead, dtype=bool)
    grid = Grid(inlines, crosslines, traces, il_index, xl_index, sorting, flagged)
    _refuse_duplicates(grid, offsets, source, (iline_byte, xline_byte, offset_byte))
    _check_density(grid, source, min_live_fraction)
    return grid


def _refuse_duplicates(
    grid: Grid, offsets: np.ndarray, source: str, header_bytes: tuple[int, int, int]
) -> None:
    iline_byte, xline_byte, offset_byte = header_bytes
    flat = grid.il_index.astype(np.int64) * grid.shape[1] + grid.xl_index
    order = np.argsort(flat, kind="stable")
    same = np.flatnonzero(np.diff(flat[order]) == 0)
    if len(same) == 0:
        return
    first = order[same[0]]
    il, xl = grid.inlines[grid.il_index[first]], grid.crosslines[grid.xl_index[first]]
    found = np.unique(offsets)
    pairs = len(np.unique(flat[order][same]))
    if grid.shape[0] == 1 and len(found) <= 1:
        also = f" and crossline {xl} (byte {xline_byte})" if grid.shape[1] == 1 else ""
        raise GeometryOptionError(
            f"{source}: a 2-D line? All {len(grid.traces)} traces share inline {il} (byte "
            f"{iline_byte}){also}, so they cannot be told apart. Read a 2-D line (or a set "
            "of them) with the line "
            f"number as the inline and the trace (CDP) number as the crossline: {{key}}="
            f"{fields.FIELD_RECORD} {{xline}}={fields.CDP} (field record / line and CDP), or "
            "the bytes your software writes them at; it is then one inline of its traces.",
            option="iline",
            others=("xline",),
        )
    if len(found) > 1:
        raise GeometryOptionError(
            f"{source}: prestack data: {pairs} inline/crossline pairs hold several traces "
            f"with offsets {found[:20].tolist()} (byte {offset_byte}). Only post-stack "
            "surveys are supported; pass {key}=<value> to read one offset.",
            option="offset",
        )
    raise GeometryOptionError(
        f"{source}: {pairs} inline/crossline pairs hold more than one trace, e.g. inline "
        f"{il}, crossline {xl} (bytes {iline_byte}/{xline_byte}). The header "
        "bytes are probably not the survey's line numbers: set {key}=... and {xline}=... "
        f"(common pairs: {line_pairs_hint()}), or remove the duplicated traces.",
        option="iline",
        others=("xline",),
    )


def on_sections(present: np.ndarray) -> tuple[int, int] | None:
    """(inlines, crosslines) holding every trace of a grid whose traces all lie on lines at
    least half full, of at least :data:`SECTION_TRACES` traces (a SEG-Y of a few interpreted
    sections); None for any other grid (a header byte gone wrong spreads a few traces over
    a huge grid of short lines: never sections)."""
    rows = (present.mean(axis=1) >= SECTION_FULL) & (present.sum(axis=1) >= SECTION_TRACES)
    cols = (present.mean(axis=0) >= SECTION_FULL) & (present.sum(axis=0) >= SECTION_TRACES)
    covered = rows[:, None] | cols[None, :]
    if not (rows.any() or cols.any()) or (present & ~covered).any():
        return None
    return int(rows.sum()), int(cols.sum())


def _check_density(grid: Grid, source: str, min_live_fraction: float) -> None:
    fraction = grid.trace_fraction
    nil, nxl = grid.shape
    if fraction < min_live_fraction and min(nil, nxl) > 1:
        sections = on_sections(grid.trace_mask())
        if sections is not None:  # a few interpreted sections: sparse is normal
            log.info(
                "%s: the traces (%.1f%% of the %d x %d grid) lie on %d inlines and %d "
                "crosslines: read as labelled sections",
                source, 100 * fraction, nil, nxl, *sections,
            )  # fmt: skip
            return
    if fraction < min_live_fraction:
        raise GeometryOptionError(
            f"{source}: only {fraction:.1%} of the {nil} x {nxl} inline/crossline grid holds a "
            f"trace (refusing below {min_live_fraction:.0%}). Check the header bytes "
            "({iline}=..., {xline}=...), or pass {key}=0 to read it anyway.",
            option="min_live_fraction",
            others=("iline", "xline"),
        )
    if fraction < WARN_LIVE_FRACTION:
        log.warning(
            "%s: only %.1f%% of the %d x %d grid holds a trace; missing traces are filled "
            "with zeros and marked live=False",
            source,
            100 * fraction,
            nil,
            nxl,
        )
