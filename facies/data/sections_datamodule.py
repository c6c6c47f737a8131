"""The data module of the sections layout: only the labelled sections in memory.

A sibling of :class:`facies.data.datamodule.SurveyDataModule` (a subclass: the jobs,
the module and the evaluation treat both alike) whose "volume" is a stack of pieces of
labelled sections ``(n_pieces, width, samples)`` (see :mod:`facies.data.sections`):
training pieces first, then validation, then test, so each split is a range of stack
rows, cut by :meth:`facies.data.volume.Volume.cut` as inline sections. Validation and
test score each held-out piece once, whole (its own width, padded to the model's size
multiple); ``test_directions`` does not apply. Training patches are cut along the
training pieces and kept when at least ``min_labelled`` of their samples are labelled.

Memory: ``n_pieces x width x samples x 6`` bytes (float32 amplitude, int16 labels), read
a section at a time from the store; the grid is never densified.
"""

from __future__ import annotations

import logging
import math

import lightning as L
import numpy as np
import xarray as xr

from facies.data.datamodule import HeldOut, SurveyDataModule
from facies.data.normalization import NormStats, estimate_stats, normalize
from facies.data.sections import (
    MIN_LABELLED,
    Piece,
    excluded_traces,
    read_piece,
    split_pieces,
)
from facies.data.splits import InlineRange
from facies.data.tiling import INLINE_SECTION, PatchTable, tile_starts
from facies.data.traces import TraceBatches, cut_traces
from facies.data.volume import LABEL_DTYPE, Volume
from facies.errors import ConfigError, TrainingError
from facies.names import IGNORE_INDEX, SECTIONS, TRACES

log = logging.getLogger(__name__)

SPLIT_ORDER = ("train", "val", "test")


class SectionTraceBatches(TraceBatches):
    """Trace batches from a stack of sections: a trace's neighbours are taken along its
    own section only (the stack's next row is another section)."""

    def cut(self, rows: np.ndarray, rng: np.random.Generator | None) -> dict:
        rows_all = InlineRange(0, self.volume.shape[0])
        return cut_traces(
            self.volume, self.il[rows], self.xl[rows], rows_all, self.radius, across=False
        )


class SectionHeldOut(HeldOut):
    """A held-out split of a stack of sections; ``titles`` name each stack row."""

    def __init__(self, *args, titles: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "titles", titles)


class SectionsDataModule(SurveyDataModule):
    """Training, validation and test on the labelled sections only (see the module doc).

    Args:
        survey: a survey with labels (lazily opened: only the sections are read).
        sections: the labelled sections (:func:`facies.data.sections.choose_layout`).
        margin: training traces within this many traces, along their line, of a held-out
            trace are left out; None for half the patch width.
        min_labelled: share of a training patch's samples that must be labelled.
        patches_per_epoch: the epoch's budget of training patches (None: all).
        The other arguments are :class:`SurveyDataModule`'s.
    """

    def __init__(
        self,
        survey: xr.Dataset,
        sections: list[Piece],
        patch: tuple[int, int] = (64, 64),
        stride: tuple[int, int] = (32, 32),
        batch_size: int = 16,
        splits: dict | None = None,
        size_multiple: int = 16,
        augmentation: dict | None = None,
        norm_stats: dict | None = None,
        seed: int = 0,
        consumes: str = SECTIONS,
        neighbourhood: int = 0,
        mask_nonfinite: bool = False,
        margin: int | None = None,
        min_labelled: float = MIN_LABELLED,
        patches_per_epoch: int | str | None = None,
    ) -> None:
        L.LightningDataModule.__init__(self)
        self._take_options(
            survey, patch, stride, batch_size, size_multiple, augmentation, seed, consumes,
            neighbourhood, mask_nonfinite, patches_per_epoch,
        )  # fmt: skip
        self.directions = ("inline",)
        self.margin = math.ceil(self.patch[1] / 2) if margin is None else int(margin)
        if self.margin < 0:
            raise ConfigError(f"data.sections.margin={margin}: use 0 or more traces.")
        self.min_labelled = float(min_labelled)
        if not 0 <= self.min_labelled <= 1:
            raise ConfigError(f"data.sections.min_labelled={min_labelled}: use 0 to 1.")
        self.sections = list(sections)
        self.pieces = split_pieces(self.sections, (splits or {}).get("fractions"))
        rows, self.splits = 0, {}
        for name in SPLIT_ORDER:
            if name in self.pieces:
                self.splits[name] = InlineRange(rows, rows + len(self.pieces[name]))
                rows += len(self.pieces[name])
        self.stack_pieces = [p for name in SPLIT_ORDER for p in self.pieces.get(name, [])]
        self.norm_stats = NormStats(**norm_stats) if norm_stats else None
        self.tests: dict[str, xr.Dataset] = {}
        self.test_directions = ("inline",)
        self.volume: Volume | None = None
        self.live: np.ndarray | None = None
        self.excluded: np.ndarray | None = None
        self.tables: dict[str, PatchTable] = {}
        self.train_groups: list[tuple[PatchTable, tuple[int, int]]] = []
        self.held_out: dict[str, HeldOut] = {}

    @property
    def split_sections(self) -> dict[str, list[str]]:
        """The pieces of each split, by name (with their trace ranges when partial)."""
        out = {}
        for name, pieces in self.pieces.items():
            out[name] = [
                p.name
                if (p.lo, p.hi) == _whole(self.sections, p)
                else f"{p.name} traces {p.lo}:{p.hi}"
                for p in pieces
            ]
        return out

    def setup(self, stage: str | None = None) -> None:
        if self.volume is not None:
            return
        pieces = self.stack_pieces
        ns = self.survey.sizes["sample"]
        width = max(len(p) for p in pieces)
        n = len(pieces)
        amplitude = np.zeros((n, width, ns), dtype=np.float32)
        labels = np.full((n, width, ns), IGNORE_INDEX, dtype=LABEL_DTYPE)
        live = np.zeros((n, width), dtype=bool)
        excluded = np.zeros((n, width), dtype=bool)
        grid = (self.survey.sizes["inline"], self.survey.sizes["crossline"])
        near = excluded_traces(self.pieces, grid, self.margin)
        ignore = self.survey.attrs.get("ignore_label")
        invalid_count = 0
        for row, piece in enumerate(pieces):
            amp, lab, liv = read_piece(self.survey, piece)
            bad = ~np.isfinite(amp)
            if bad.any():
                invalid_count += int(bad.sum())
                amp[bad] = 0.0
            k = len(piece)
            target = lab.astype(LABEL_DTYPE)
            unlabelled = ~liv[:, None] | bad
            if ignore is not None:
                unlabelled = unlabelled | (lab == ignore)
            if piece in near:
                excluded[row, :k] = near[piece]
                unlabelled = unlabelled | near[piece][:, None]
                amp[near[piece]] = 0.0
            target[unlabelled] = IGNORE_INDEX
            amplitude[row, :k], labels[row, :k], live[row, :k] = amp, target, liv
        live &= ~excluded
        if invalid_count and not self.mask_nonfinite:
            raise TrainingError(
                f"the labelled sections hold {invalid_count} NaN or infinite amplitude "
                "samples; set data.mask_nonfinite=true to leave them out, or repair the SEG-Y."
            )
        if self.norm_stats is None:
            train = self.splits["train"].as_slice()
            self.norm_stats = estimate_stats(amplitude[train], live[train], self.seed)
        for row in range(n):  # in place, a section at a time
            amplitude[row] = normalize(amplitude[row], self.norm_stats)
            amplitude[row][~live[row]] = 0.0
        self.volume = Volume(amplitude, labels, IGNORE_INDEX)
        self.live, self.excluded = live, excluded
        table = self._training_table(ns)
        self.tables["train"] = table
        self.train_groups = [(table, self.patch)]
        for name in ("val", "test"):
            if name not in self.splits:
                continue
            region = self.splits[name]
            table, size = self._whole_pieces(region, ns)
            self.held_out[name] = SectionHeldOut(
                self.volume,
                region,
                live,
                np.array([p.number for p in pieces]),
                size,
                table,
                {"inline": (table, size)},
                titles=[_title(p, self.sections) for p in pieces],
            )
            self.tables[name] = table
        log.info(
            "sections layout: %d labelled sections, %s in memory (%d pieces x %d traces x %d "
            "samples); train %s, val %s, test %s; margin %d traces (%d training traces left "
            "out); %d training patches with >= %.0f%% labelled samples",
            len(self.sections), f"{amplitude.nbytes * 1.5 / 2**20:.1f} MiB", n, width, ns,
            self.split_sections.get("train"), self.split_sections.get("val"),
            self.split_sections.get("test"), self.margin, int(excluded.sum()),
            len(self.tables["train"]), 100 * self.min_labelled,
        )  # fmt: skip

    def _training_table(self, ns: int) -> PatchTable:
        """Patches along the training pieces holding at least ``min_labelled`` labelled
        samples."""
        ph, pw = self.patch
        samples = tile_starts(ns, ph, self.stride[0])
        cols = []
        for row in range(self.splits["train"].start, self.splits["train"].stop):
            length = len(self.stack_pieces[row])
            lateral = tile_starts(length, pw, self.stride[1])
            lat, smp = np.meshgrid(lateral, samples, indexing="ij")
            k = lat.size
            cols.append((np.full(k, INLINE_SECTION), np.full(k, row), lat.ravel(), smp.ravel(),
                         np.zeros(k, np.int64), np.full(k, length)))  # fmt: skip
        table = PatchTable(*(np.concatenate(c) for c in zip(*cols, strict=True)))
        share = np.zeros(len(table))
        for start in range(0, len(table), 256):
            rows = np.arange(start, min(start + 256, len(table)))
            mask = self.volume.cut(table, rows, self.patch)["mask"]
            share[rows] = (mask != IGNORE_INDEX).flatten(1).float().mean(1).cpu().numpy()
        keep = share >= max(self.min_labelled, 1e-9)
        if not keep.any():
            raise ConfigError(
                f"no training patch of {ph}x{pw} holds {self.min_labelled:.0%} labelled samples "
                f"(the best holds {share.max():.0%}); lower data.sections.min_labelled, use a "
                "smaller data.patch, or label more of the training sections."
            )
        return table.subset(keep)

    def _whole_pieces(self, region: InlineRange, ns: int) -> tuple[PatchTable, tuple[int, int]]:
        """One row per piece of ``region``, whole, and the padded size of the widest."""
        m = self.size_multiple
        lengths = np.array([len(self.stack_pieces[r]) for r in range(region.start, region.stop)])
        size = (math.ceil(ns / m) * m, math.ceil(int(lengths.max()) / m) * m)
        k = len(lengths)
        table = PatchTable(
            np.full(k, INLINE_SECTION),
            np.arange(region.start, region.stop),
            np.zeros(k, np.int64),
            np.zeros(k, np.int64),
            np.zeros(k, np.int64),
            lengths.astype(np.int64),
        )
        return table, size

    @property
    def section_size(self) -> tuple[int, int]:
        m = self.size_multiple
        ns = self.survey.sizes["sample"]
        width = max(len(p) for p in self.stack_pieces)
        return math.ceil(ns / m) * m, math.ceil(width / m) * m

    def _batches(self, name: str, train: bool):
        if self.consumes != TRACES:
            return super()._batches(name, train)
        rank, world = self._shard()
        shard = {"seed": self.seed, "rank": rank, "world_size": world}
        if not train and name not in self.held_out:
            raise ConfigError(f"the splits have no {name} block: {list(self.splits)}.")
        region = self.splits[name]
        batches = SectionTraceBatches(
            self.volume, region, self.live, self.batch_size, self.neighbourhood, train,
            self.augmentation if train else None, **shard,
        )  # fmt: skip
        if train and self.patches_per_epoch is not None:
            batches.sampler.draw = self.patches_per_epoch * self.patch[1]
        return batches


def _whole(sections: list[Piece], piece: Piece) -> tuple[int, int]:
    for s in sections:
        if (s.direction, s.index) == (piece.direction, piece.index):
            return s.lo, s.hi
    return piece.lo, piece.hi


def _title(piece: Piece, sections: list[Piece]) -> str:
    if (piece.lo, piece.hi) == _whole(sections, piece):
        return piece.name
    return f"{piece.name} (traces {piece.lo}..{piece.hi - 1})"
