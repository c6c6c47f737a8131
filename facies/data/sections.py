"""Labelled sections: found from the labels (or listed), split, and stacked for training.

Interpreters label a few inlines and crosslines, or a 2-D line. In the *sections* layout
(``data.layout=sections``, chosen by ``auto`` when the labels are sparse) training holds
only those sections in memory, as a stack of 2-D sections ``(n_pieces, width, samples)``
padded to a common width, which :class:`facies.data.volume.Volume` cuts as "inline
sections" of the stack: memory follows the labelled data, not the grid.

**Finding sections.** A trace is labelled when it is live and holds at least one sample
with a label other than ``ignore_label``. Lines (inlines and crosslines) are taken in
order of their labelled traces, most first; a line is a labelled section when, leaving
out the traces it shares with sections already taken in the other direction, at least
half of its live traces are labelled, and at least :data:`MIN_SECTION_TRACES` of them
(or its whole length when shorter). Lines that only cross labelled sections (in a
SEG-Y holding only the labelled traces, every inline holds the traces where the
labelled crosslines cross it) are so never taken. A fully labelled survey gives its
inlines.

**Layout.** ``auto`` chooses sections when the survey is a 2-D line (one inline or one
crossline), when sections are listed (``data.sections.inlines`` / ``crosslines``), or
when the labelled traces cover less than :data:`SPARSE_SHARE` (a quarter) of the grid's
inline x crossline cells and labelled sections are found; otherwise the whole volume.

**Splits.** With 3 or more sections, whole sections are held out: ``data.splits
.fractions`` of them (at least one for validation, one for test when its fraction is not
0), picked spread out over the sections ordered by direction and position. With 1 or 2
sections (a 2-D line), each is cut into blocks of traces along it: train | val | test.

**No leak where sections cross.** A crossing trace belongs to both sections. Training
traces within ``margin`` traces, along their own line, of a held-out trace (the crossing
of a held-out section, or a held-out block of the same line) are left out of training:
labels ignored and amplitude zeroed. The margin defaults to half the patch width (the
gap rule of the volume layout). Parallel sections share no trace and are kept; a
training section closer than the margin to a parallel held-out one is warned about.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from facies.errors import ConfigError
from facies.names import AMPLITUDE, LABELS, LIVE

log = logging.getLogger(__name__)

#: ``data.layout`` values.
LAYOUTS = ("auto", "volume", "sections")
AUTO, VOLUME, SECTIONS_LAYOUT = LAYOUTS
#: ``auto`` chooses sections when labelled traces cover less than this share of the grid.
SPARSE_SHARE = 0.25
#: A line is a labelled section when at least this share of its live traces is labelled.
MOST = 0.5
#: ... and at least this many traces (or its whole length when shorter).
MIN_SECTION_TRACES = 8
#: Default minimum share of labelled samples in a training patch (``data.sections
#: .min_labelled``).
MIN_LABELLED = 0.25
#: Labels are scanned about this many bytes at a time.
SCAN_BLOCK_BYTES = 64 * 2**20
DIRECTIONS = ("inline", "crossline")


@dataclass(frozen=True)
class Piece:
    """Traces ``lo:hi`` along one line: an inline (``index`` on the inline axis, traces
    along crosslines) or a crossline. A whole labelled section, or a block of one."""

    direction: str
    index: int
    number: int
    lo: int
    hi: int

    def __len__(self) -> int:
        return self.hi - self.lo

    @property
    def name(self) -> str:
        return f"{self.direction} {self.number}"

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(inline, crossline) indices of the piece's traces, in order along it."""
        along = np.arange(self.lo, self.hi)
        fixed = np.full(len(along), self.index)
        return (fixed, along) if self.direction == "inline" else (along, fixed)


def labelled_traces(survey: xr.Dataset) -> np.ndarray:
    """(inline, crossline) True where a live trace holds a label other than ignore_label.

    Read a block of inlines at a time, and in each only the crosslines holding a live
    trace: a SEG-Y holding only the labelled traces is scanned over those, not the grid.
    """
    live = np.asarray(survey[LIVE].values, dtype=bool)
    ignore = survey.attrs.get("ignore_label")
    if ignore is None or LABELS not in survey:
        return live.copy()
    nil, nxl, ns = (survey.sizes[d] for d in ("inline", "crossline", "sample"))
    labelled = np.zeros((nil, nxl), dtype=bool)
    step = max(32, (SCAN_BLOCK_BYTES // max(1, nxl * ns * 2)) // 32 * 32)
    for start in range(0, nil, step):
        block = slice(start, min(start + step, nil))
        cols = np.flatnonzero(live[block].any(axis=0))
        if not len(cols):
            continue
        lo, hi = int(cols[0]), int(cols[-1]) + 1
        if len(cols) < (hi - lo) // 2:  # a few scattered crosslines: read just those
            values = survey[LABELS].isel(inline=block, crossline=cols).values
            labelled[block, cols] = (np.asarray(values) != ignore).any(axis=2)
        else:
            values = survey[LABELS].isel(inline=block, crossline=slice(lo, hi)).values
            labelled[block, lo:hi] = (np.asarray(values) != ignore).any(axis=2)
    return labelled & live


def find_sections(
    labelled: np.ndarray,
    live: np.ndarray,
    inlines: np.ndarray,
    crosslines: np.ndarray,
    listed: Mapping[str, Sequence[int]] | None = None,
) -> list[Piece]:
    """The labelled sections (see the module doc), or those ``listed`` by line number
    (``{"inlines": [...], "crosslines": [...]}``), each cropped to its labelled traces."""
    numbers = {"inline": np.asarray(inlines), "crossline": np.asarray(crosslines)}
    if listed and any(listed.get(f"{d}s") for d in DIRECTIONS):
        chosen = []
        for d in DIRECTIONS:
            for number in listed.get(f"{d}s") or []:
                where = np.flatnonzero(numbers[d] == int(number))
                if not len(where):
                    axis = numbers[d]
                    raise ConfigError(
                        f"data.sections.{d}s lists {d} {number}, which the survey does not "
                        f"hold (its {d}s are {axis[0]}..{axis[-1]}); list line numbers, "
                        "not indices."
                    )
                chosen.append((d, int(where[0])))
    else:
        chosen = _found(labelled, live)
    pieces = []
    for d, k in chosen:
        along = labelled[k] if d == "inline" else labelled[:, k]
        hit = np.flatnonzero(along)
        if not len(hit):
            raise ConfigError(
                f"{d} {numbers[d][k]} holds no labelled trace; list labelled sections in "
                "data.sections, or leave it empty to have them found."
            )
        pieces.append(Piece(d, k, int(numbers[d][k]), int(hit[0]), int(hit[-1]) + 1))
    return sorted(pieces, key=lambda p: (DIRECTIONS.index(p.direction), p.index))


def _found(labelled: np.ndarray, live: np.ndarray) -> list[tuple[str, int]]:
    counts = [labelled.sum(axis=1), labelled.sum(axis=0)]
    order = [(int(c), -d, k) for d in (0, 1) for k, c in enumerate(counts[d]) if c]
    order.sort(reverse=True)
    taken = [np.zeros(labelled.shape[0], bool), np.zeros(labelled.shape[1], bool)]
    chosen = []
    for _, negd, k in order:
        d = -negd
        lab, liv = (labelled[k], live[k]) if d == 0 else (labelled[:, k], live[:, k])
        free = ~taken[1 - d]  # traces not shared with sections taken across
        n_lab, n_live = int(lab[free].sum()), int(liv[free].sum())
        if n_live and n_lab >= MOST * n_live and n_lab >= min(MIN_SECTION_TRACES, len(lab)):
            taken[d][k] = True
            chosen.append((DIRECTIONS[d], k))
    return chosen


def choose_layout(
    layout: str, survey: xr.Dataset, listed: Mapping[str, Any] | None
) -> tuple[str, list[Piece], float]:
    """(layout, labelled sections, share of the grid's cells labelled) for ``layout``
    (``auto``, ``volume`` or ``sections``; see the module doc)."""
    if layout not in LAYOUTS:
        raise ConfigError(f"data.layout={layout!r}: use one of {', '.join(LAYOUTS)}.")
    if layout == VOLUME:
        return VOLUME, [], 1.0
    nil, nxl = survey.sizes["inline"], survey.sizes["crossline"]
    listing = bool(listed and any(listed.get(f"{d}s") for d in DIRECTIONS))
    live = np.asarray(survey[LIVE].values, dtype=bool)
    labelled = labelled_traces(survey)
    share = float(labelled.sum() / max(1, labelled.size))
    pieces = find_sections(
        labelled, live, survey["inline"].values, survey["crossline"].values, listed
    )
    if layout == AUTO and not (listing or min(nil, nxl) == 1 or share < SPARSE_SHARE):
        return VOLUME, [], share
    if not pieces:
        if layout == AUTO:
            return VOLUME, [], share
        raise ConfigError(
            "data.layout=sections, and no labelled section was found (a section is a line "
            "with most of its live traces labelled); list them: data.sections.inlines=[...] "
            "data.sections.crosslines=[...]."
        )
    if nxl == 1 and nil > 1:  # a 2-D line along the inline axis: one crossline
        pieces = [p for p in pieces if p.direction == "crossline"] or pieces
    return SECTIONS_LAYOUT, pieces, share


def split_pieces(
    sections: list[Piece], fractions: Mapping[str, float] | None
) -> dict[str, list[Piece]]:
    """Train / val / test pieces: whole sections when there are 3 or more, else blocks of
    traces along each section (see the module doc)."""
    fractions = dict(fractions or {"train": 0.7, "val": 0.1, "test": 0.2})
    shares = {k: float(fractions.get(k, 0) or 0) for k in ("train", "val", "test")}
    if shares["train"] <= 0 or shares["val"] <= 0:
        raise ConfigError(
            f"data.splits.fractions={fractions}: the sections layout needs train and val "
            "shares above 0."
        )
    total = sum(shares.values())
    n = len(sections)
    if n >= 3:
        n_test = max(1, round(n * shares["test"] / total)) if shares["test"] > 0 else 0
        n_val = max(1, round(n * shares["val"] / total))
        while n_val + n_test > n - 1:
            if n_test > 1 and n_test >= n_val:
                n_test -= 1
            elif n_val > 1:
                n_val -= 1
            else:
                n_test -= 1
        k = n_val + n_test
        picks = [min(n - 1, int((j + 0.5) * n / k)) for j in range(k)]
        names = []  # alternately test and val, starting with test (val when no test)
        vals, tests = n_val, n_test
        for j in range(k):
            if tests and (j % 2 == 0 or not vals):
                names.append("test")
                tests -= 1
            else:
                names.append("val")
                vals -= 1
        held = dict(zip(picks, names, strict=True))
        out = {"train": [], "val": [], "test": []}
        for i, piece in enumerate(sections):
            out[held.get(i, "train")].append(piece)
        return {k: v for k, v in out.items() if v}
    out = {"train": [], "val": [], "test": []}
    for piece in sections:
        length = len(piece)
        bounds, start = {}, piece.lo
        for name in ("train", "val", "test"):
            size = math.floor(length * shares[name] / total)
            if shares[name] > 0:
                bounds[name] = (start, start + size)
                start += size
        last = list(bounds)[-1]  # the last block takes the rounding
        bounds[last] = (bounds[last][0], piece.hi)
        for name, (lo, hi) in bounds.items():
            if hi <= lo:
                raise ConfigError(
                    f"{piece.name} has {length} labelled traces: too few to cut train, val "
                    f"and test blocks of {fractions} along it; label a longer line, or more "
                    "sections."
                )
            out[name].append(Piece(piece.direction, piece.index, piece.number, lo, hi))
    return {k: v for k, v in out.items() if v}


def excluded_traces(
    pieces: Mapping[str, list[Piece]], shape: tuple[int, int], margin: int
) -> dict[Piece, np.ndarray]:
    """For each training piece, True at its traces (positions along it) that lie within
    ``margin`` traces along its line of a held-out trace (see the module doc)."""
    held = np.zeros(shape, dtype=bool)
    for name in ("val", "test"):
        for piece in pieces.get(name, []):
            held[piece.cells()] = True
    out = {}
    for piece in pieces.get("train", []):
        line = held[piece.index] if piece.direction == "inline" else held[:, piece.index]
        near = _dilate(line, margin)
        out[piece] = near[piece.lo : piece.hi]
    for piece in pieces.get("train", []):
        for name in ("val", "test"):
            for other in pieces.get(name, []):
                if (
                    other.direction == piece.direction
                    and 0 < abs(other.index - piece.index) <= margin
                ):
                    log.warning(
                        "training section %s lies %d traces from the held-out %s (margin %d): "
                        "neighbouring sections look alike, so the %s score may flatter",
                        piece.name, abs(other.index - piece.index), other.name, margin, name,
                    )  # fmt: skip
    return out


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` grown by ``radius`` positions on each side (1-D)."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    padded = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    n = len(mask)
    idx = np.arange(n)
    lo = np.clip(idx - radius, 0, n)
    hi = np.clip(idx + radius + 1, 0, n)
    return (padded[hi] - padded[lo]) > 0


def read_piece(survey: xr.Dataset, piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Amplitude (traces, samples) float32, labels and live of one piece, read from the
    survey (a store reads only the chunks along the line)."""
    where = {"inline": piece.index, "crossline": slice(piece.lo, piece.hi)}
    if piece.direction == "crossline":
        where = {"crossline": piece.index, "inline": slice(piece.lo, piece.hi)}
    amplitude = np.asarray(survey[AMPLITUDE].isel(where).values, dtype=np.float32)
    labels = np.asarray(survey[LABELS].isel(where).values)
    live = np.asarray(survey[LIVE].isel(where).values, dtype=bool)
    return amplitude, labels, live
