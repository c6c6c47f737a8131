"""The LightningDataModule: survey in memory, leak-free splits, patches and sections."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
import xarray as xr

from facies.data.batches import InterleavedBatches, budget_shares
from facies.data.blocks import Box, NonFinite, read_box
from facies.data.memory import (
    BYTES_PER_SAMPLE,
    USABLE_SHARE,
    available_bytes,
    gib,
    survey_bytes,
)
from facies.data.normalization import NormStats, estimate_stats_blockwise
from facies.data.patches import PatchBatches
from facies.data.splits import InlineRange, make_splits, resolve_gap
from facies.data.tiling import SECTION_DIRECTIONS, PatchTable, section_table, training_tables
from facies.data.traces import TraceBatches
from facies.data.volume import LABEL_DTYPE, Volume
from facies.errors import ConfigError, OptionError, TrainingError
from facies.names import AMPLITUDE, IGNORE_INDEX, LABELS, LIVE, SECTIONS, TRACES

log = logging.getLogger(__name__)

#: Inlines are read into the in-memory volume about this many bytes at a time.
READ_BLOCK_BYTES = 64 * 2**20
#: Share of a GPU's free memory the survey may take there (the rest: the network's
#: activations and optimiser state).
DEVICE_SHARE = 0.6


def epoch_budget(patches_per_epoch: int | str | None) -> int | None:
    """``data.patches_per_epoch``: a positive integer, or ``all``/None (every patch)."""
    if patches_per_epoch is None or patches_per_epoch == "all":
        return None
    if (
        isinstance(patches_per_epoch, bool)
        or not isinstance(patches_per_epoch, int)
        or (patches_per_epoch < 1)
    ):
        raise ConfigError(
            f"data.patches_per_epoch={patches_per_epoch!r}: must be a positive integer or all, "
            "e.g. data.patches_per_epoch=2048."
        )
    return patches_per_epoch


def check_stride(patch: tuple[int, int], stride: tuple[int, int]) -> None:
    """Refuse a stride larger than the patch: the samples or traces between two patches
    would never be trained on."""
    for axis, name in enumerate(("samples", "traces")):
        if not 1 <= stride[axis] <= patch[axis]:
            raise ConfigError(
                f"data.stride={list(stride)} with data.patch={list(patch)}: the stride in "
                f"{name} ({stride[axis]}) must lie in 1..{patch[axis]} (the patch's), or "
                f"{name} between patches are never trained on; e.g. "
                f"data.stride=[{min(stride[0], patch[0])},{min(stride[1], patch[1])}]."
            )


@dataclass(frozen=True)
class HeldOut:
    """A split scored on whole sections: validation, or one test set.

    ``volume`` is the training survey's for splits cut from it, or a test survey's own
    (the F3 benchmark's Test 1 and Test 2); ``region`` is the split's inline range in it.
    ``table`` and ``section_size`` are its inline sections (the figures show one);
    ``sections`` maps each scored direction to its (table, padded size): inline sections
    span all crosslines, crossline sections only the region's inlines.
    """

    volume: Volume
    region: InlineRange
    live: np.ndarray
    inlines: np.ndarray
    section_size: tuple[int, int]
    table: PatchTable
    sections: dict[str, tuple[PatchTable, tuple[int, int]]]


class ChainedBatches:
    """Batches of several iterables one after the other: a held-out split's inline
    sections, then its crossline sections (each direction its own size and DDP shard, so
    sections of different sizes never share a batch)."""

    def __init__(self, parts: list[PatchBatches | TraceBatches]) -> None:
        self.parts = list(parts)

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def __iter__(self) -> Iterator[dict]:
        for part in self.parts:
            yield from part


class NamedTestBatches:
    """The batches of several test sets one after the other, each batch tagged with its
    set's name (``batch["test_set"]``) so the module scores each set on its own."""

    def __init__(self, batches: dict[str, PatchBatches | TraceBatches | ChainedBatches]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return sum(len(b) for b in self.batches.values())

    def __iter__(self) -> Iterator[dict]:
        for name, batches in self.batches.items():
            for batch in batches:
                yield {**batch, "test_set": name}


class SurveyDataModule(L.LightningDataModule):
    """Training patches from inline and crossline sections; whole sections for validation
    (inline) and test (``test_directions``), so every held-out sample is scored exactly
    once per scored direction.

    With ``test_directions=("inline", "crossline")`` (the F3 benchmark's protocol, its
    ``section_test.py`` default) each test set is scored on every inline section and
    every crossline section, into one confusion matrix: every sample counts twice. A
    crossline test section spans only the test block's inlines (never a training one).
    A trace model (``consumes="traces"``) sees the same traces in either direction; it scores
    them once per test direction too, so its matrix counts match the U-Net's.

    Test sections come from the survey's own test block, or, with ``tests``, from
    separate test surveys (the F3 benchmark's Test 1 and Test 2), each scored on its
    own and together. Under DDP every rank reads its own shard of each split
    (:mod:`facies.data.sharding`); the module sums the confusion matrices over ranks.

    Args:
        survey: a survey with ``labels`` (e.g. from :func:`facies.io.store.open_survey`).
        patch: (samples, traces) of a training patch.
        stride: (samples, traces) between patch starts.
        batch_size: patches per training batch; sections per evaluation batch.
        splits: ``{"fractions": {...}}`` or ``{"ranges": {...}}`` for make_splits, and
            ``gap`` (``auto`` or inlines) between the training and the held-out blocks.
        size_multiple: the model needs heights and widths divisible by this.
        directions: section directions for training patches.
        augmentation: ``{"enabled", "amplitude_scale", "noise"}``.
        norm_stats: use these instead of estimating them on the training region.
        seed: shuffling and augmentation seed.
        consumes: what the model reads (:class:`facies.models.ModelInput`): ``sections``
            (patches for training, whole sections for evaluation) or ``traces``.
        neighbourhood: traces on each side of a trace fed to the LSTM as channels.
        tests: separate test surveys by name (same samples and classes as ``survey``);
            the splits then must not hold a test block.
        test_directions: section directions the test sets are scored on, each once
            (``inline``, ``crossline``); validation is always scored on inline sections.
        mask_nonfinite: leave NaN and infinite amplitude samples out of the loss and the
            metrics (their amplitude set to 0); by default a survey holding any is refused.
        patches_per_epoch: the epoch's budget: training patches drawn afresh from the whole
            training table each epoch (seeded by seed and epoch), or None/``all`` for every
            patch. A trace model draws as many traces as these patches span
            (``patches_per_epoch * patch[1]``).
    """

    def __init__(
        self,
        survey: xr.Dataset,
        patch: tuple[int, int] = (64, 64),
        stride: tuple[int, int] = (32, 32),
        batch_size: int = 16,
        splits: dict | None = None,
        size_multiple: int = 16,
        directions: tuple[str, ...] = ("inline", "crossline"),
        augmentation: dict | None = None,
        norm_stats: dict | None = None,
        seed: int = 0,
        consumes: str = SECTIONS,
        neighbourhood: int = 0,
        tests: dict[str, xr.Dataset] | None = None,
        test_directions: tuple[str, ...] | list[str] | str = ("inline",),
        mask_nonfinite: bool = False,
        patches_per_epoch: int | str | None = None,
    ) -> None:
        super().__init__()
        self._take_options(
            survey, patch, stride, batch_size, size_multiple, augmentation, seed, consumes,
            neighbourhood, mask_nonfinite, patches_per_epoch,
        )  # fmt: skip
        self.directions = tuple(directions)
        nil = survey.sizes["inline"]
        splits = dict(splits or {})
        self.gap = resolve_gap(splits.get("gap"), nil, self.patch[1])
        self.splits: dict[str, InlineRange] = make_splits(
            nil, splits.get("fractions"), splits.get("ranges"), self.gap, self.patch[1]
        )
        self.norm_stats = NormStats(**norm_stats) if norm_stats else None
        self.tests = self._check_tests(dict(tests or {}))
        self.test_directions = _check_test_directions(test_directions)
        self.volume: Volume | None = None
        self.tables: dict[str, PatchTable] = {}
        #: The training patches as (table, patch size) groups (crossline patches are
        #: narrower when the training block has fewer inlines than the patch width).
        self.train_groups: list[tuple[PatchTable, tuple[int, int]]] = []
        self.held_out: dict[str, HeldOut] = {}

    def _take_options(
        self,
        survey: xr.Dataset,
        patch: tuple[int, int],
        stride: tuple[int, int],
        batch_size: int,
        size_multiple: int,
        augmentation: dict | None,
        seed: int,
        consumes: str,
        neighbourhood: int,
        mask_nonfinite: bool,
        patches_per_epoch: int | str | None,
    ) -> None:
        """Check and keep the options every layout shares (this module's and
        :class:`facies.data.sections_datamodule.SectionsDataModule`'s)."""
        if consumes not in (SECTIONS, TRACES):
            raise ConfigError(f"a model consumes {SECTIONS} or {TRACES}, not {consumes!r}.")
        if LABELS not in survey:
            raise OptionError(
                "the survey has no labels; ingest it with {key}=<labels.sgy|labels.npy> first.",
                option="labels",
            )
        self.consumes, self.neighbourhood = consumes, neighbourhood
        self.mask_nonfinite = bool(mask_nonfinite)
        self.survey = survey
        self.patch = tuple(int(v) for v in patch)
        if any(v % size_multiple for v in self.patch):
            padded = tuple(math.ceil(v / size_multiple) * size_multiple for v in self.patch)
            raise ConfigError(
                f"patch {self.patch} must be a multiple of {size_multiple} (the model's "
                f"size multiple); use data.patch=[{padded[0]},{padded[1]}]."
            )
        self.stride = tuple(int(v) for v in stride)
        check_stride(self.patch, self.stride)
        self.patches_per_epoch = epoch_budget(patches_per_epoch)
        self.batch_size, self.seed, self.size_multiple = batch_size, seed, size_multiple
        self.augmentation = dict(augmentation or {})

    def _check_tests(self, tests: dict[str, xr.Dataset]) -> dict[str, xr.Dataset]:
        if not tests:
            return tests
        if "test" in self.splits:
            raise ConfigError(
                f"the survey comes with its own test sets ({', '.join(tests)}), so the splits "
                "must not cut a test block from it too; set data.splits.fractions.test=0 "
                "(or leave test out of data.splits.ranges)."
            )
        if "test" in tests and len(tests) > 1:
            raise ConfigError(
                f"test sets {list(tests)}: the name 'test' is kept for the score of all of "
                "them together; rename that test set."
            )
        ns = self.survey.sizes["sample"]
        for name, test in tests.items():
            if LABELS not in test:
                raise ConfigError(f"test set {name} has no labels; it cannot be scored.")
            if test.sizes["sample"] != ns:
                raise ConfigError(
                    f"test set {name} has {test.sizes['sample']} samples per trace, the "
                    f"training survey {ns}; give test surveys with the same sample axis."
                )
            names = test.attrs.get("class_names")
            if names and list(names) != self.class_names:
                raise ConfigError(
                    f"test set {name} has classes {list(names)}, the "
                    f"training survey {self.class_names}; they must be the same."
                )
        return tests

    @property
    def test_names(self) -> list[str]:
        """The test sets scored by :meth:`test_dataloader`, in order."""
        if self.tests:
            return list(self.tests)
        return ["test"] if "test" in self.splits else []

    @property
    def class_names(self) -> list[str]:
        names = self.survey.attrs.get("class_names")
        if names:
            return list(names)
        counts = self.survey.attrs.get("class_counts") or []
        return [str(k) for k in range(len(counts))]

    def setup(self, stage: str | None = None) -> None:
        if self.tables:
            return
        self._check_memory()
        live = np.asarray(self.survey[LIVE].values)
        if self.norm_stats is None:  # the training inlines, a block at a time, keeping nothing
            train = self.splits["train"]
            self.norm_stats = estimate_stats_blockwise(
                lambda a, b: np.asarray(self.survey[AMPLITUDE].isel(inline=slice(a, b)).values),
                (train.start, train.stop),
                live,
                self.survey.sizes["sample"],
                self.seed,
            )
        self._load()
        nxl, ns = self.survey.sizes["crossline"], self.survey.sizes["sample"]
        groups = training_tables(
            self.splits["train"], nxl, ns, self.patch, self.stride, self.directions,
            self.size_multiple,
        )  # fmt: skip
        self.train_groups = self._labelled(groups)
        self.tables["train"] = _concat([table for table, _ in self.train_groups])
        sets = {
            name: (self.survey, self._held_source(self.survey), self.splits[name])
            for name in ("val", "test")
            if name in self.splits
        }
        for name, test in self.tests.items():
            sets[name] = (test, self._held_source(test), InlineRange(0, test.sizes["inline"]))
        for name, (survey, volume, region) in sets.items():
            nxl, m = volume.shape[1], self.size_multiple
            directions = ("inline",) if name == "val" else self.test_directions
            sections = {d: section_table(region, nxl, ns, d, m) for d in directions}
            table, size = sections.get("inline") or section_table(region, nxl, ns, "inline", m)
            self.held_out[name] = HeldOut(
                volume,
                region,
                np.asarray(survey[LIVE].values),
                np.asarray(survey["inline"].values),
                size,
                table,
                sections,
            )
            self.tables[name] = table
        budget = self.patches_per_epoch
        log.info(
            "splits %s (gap %d inlines); %d training patches (%s), %s an epoch; test sets %s "
            "scored on %s sections",
            {k: (v.start, v.stop) for k, v in self.splits.items()},
            self.gap,
            len(self.tables["train"]),
            ", ".join(f"{len(t)} of {s[0]}x{s[1]}" for t, s in self.train_groups),
            "all" if budget is None or budget >= len(self.tables["train"]) else budget,
            {n: self._test_shape(n) for n in self.test_names},
            " and ".join(self.test_directions),
        )

    def _check_memory(self) -> None:
        """Refuse, before reading anything, a survey (and test surveys) that cannot be held in
        the memory available, with the figures and what to do."""
        surveys = [self.survey, *self.tests.values()]
        shapes = [tuple(s.sizes[d] for d in ("inline", "crossline", "sample")) for s in surveys]
        needed = sum(survey_bytes(shape) for shape in shapes)
        available = available_bytes()
        log.info("the survey needs about %s in memory (%s available)", gib(needed),
                 gib(available) if available is not None else "unknown")  # fmt: skip
        if available is not None and needed > USABLE_SHARE * available:
            samples = sum(int(np.prod(shape)) for shape in shapes)
            stream = (
                ""
                if self.consumes == TRACES  # a trace model is not streamed
                else "stream it from the store instead (data.in_memory=false or auto), "
            )
            raise TrainingError(
                f"the survey needs about {gib(needed)} in memory ({samples:,} samples x "
                f"{BYTES_PER_SAMPLE} bytes: float32 amplitude + int16 labels), and "
                f"{gib(available)} is available; {stream}train on a machine with more "
                "memory, or on part of the survey (data.splits.ranges=... over fewer "
                "inlines, or a cropped store from facies ingest)."
            )

    def _load(self) -> None:
        """Make what training patches are cut from: here the survey in memory."""
        self.volume = self._volume(self.survey)

    def _held_source(self, survey: xr.Dataset) -> Volume:
        """What a held-out split of ``survey`` is cut from: the volume in memory (the
        training survey's, or a test survey's own)."""
        return self.volume if survey is self.survey else self._volume(survey)

    def _test_shape(self, name: str) -> tuple[int, int, int]:
        """(inlines, crosslines, samples) of a test set."""
        held = self.held_out[name]
        return (len(held.region), *held.volume.shape[1:])

    def _volume(self, survey: xr.Dataset) -> Volume:
        """A survey normalised with the training statistics, unlabelled samples ignored.

        Read a block of inlines at a time into the volume's own arrays: float32 amplitude
        and int16 labels, 6 bytes a sample, with no whole-survey copy on the way (and none
        left cached in ``survey``).
        """
        nil, nxl, ns = (survey.sizes[d] for d in ("inline", "crossline", "sample"))
        amplitude = np.empty((nil, nxl, ns), dtype=np.float32)
        labels = np.empty((nil, nxl, ns), dtype=LABEL_DTYPE)
        live = np.asarray(survey[LIVE].values)
        ignore = survey.attrs.get("ignore_label")
        step = max(1, READ_BLOCK_BYTES // max(1, nxl * ns * 4))
        nonfinite = NonFinite()
        for start in range(0, nil, step):
            stop = min(start + step, nil)
            out = (amplitude[start:stop], labels[start:stop])
            box = Box(start, stop, 0, nxl)
            _, _, invalid = read_box(survey, box, self.norm_stats, live, ignore, out)
            nonfinite.add(invalid)
        if nonfinite.samples:
            if not self.mask_nonfinite:
                raise nonfinite.error()
            log.warning(
                "%d non-finite amplitude samples (%d traces) masked",
                nonfinite.samples,
                nonfinite.traces,
            )
        return Volume(amplitude, labels, IGNORE_INDEX)

    @property
    def section_size(self) -> tuple[int, int]:
        """A whole inline section of the survey, padded to the model's size multiple."""
        return self._section_size(self.survey)

    def _section_size(self, survey: xr.Dataset) -> tuple[int, int]:
        nxl, ns = survey.sizes["crossline"], survey.sizes["sample"]
        m = self.size_multiple
        return math.ceil(ns / m) * m, math.ceil(nxl / m) * m

    def _labelled(
        self, groups: list[tuple[PatchTable, tuple[int, int]]]
    ) -> list[tuple[PatchTable, tuple[int, int]]]:
        """Drop patches without one labelled sample (sparse interpretations)."""
        kept = []
        for table, size in groups:
            keep = np.zeros(len(table), dtype=bool)
            for start in range(0, len(table), 256):
                rows = np.arange(start, min(start + 256, len(table)))
                mask = self.volume.cut(table, rows, size)["mask"]
                keep[rows] = (mask != IGNORE_INDEX).flatten(1).any(1).cpu().numpy()
            if keep.any():
                kept.append((table.subset(keep), size))
        if not kept:
            raise ConfigError("no training patch holds a labelled sample; check the labels.")
        return kept

    def class_weights(self) -> list[float]:
        """Inverse-frequency class weights from the training region's labels (mean 1)."""
        labels = self.volume.labels[self.splits["train"].as_slice()]
        labels = labels[labels != IGNORE_INDEX]
        counts = np.bincount(labels.cpu().numpy(), minlength=len(self.class_names))
        weights = counts.sum() / np.maximum(counts, 1) / len(counts)
        return (weights / weights.mean()).tolist()

    def move_to(self, device) -> None:
        """Hold the survey (and the test surveys) on ``device`` (the GPU when training
        there), where they take at most :data:`DEVICE_SHARE` of its free memory; else
        they stay in host memory, batches are cut there and copied per step (logged)."""
        device = torch.device(device)
        held = (self.volume, *(h.volume for h in self.held_out.values()))
        volumes = {id(v): v for v in held if v is not None}  # a volume serves several splits
        in_memory = [v for v in volumes.values() if isinstance(v, Volume)]  # not store readers
        on_host = False
        if device.type == "cuda" and in_memory:
            need = sum(v.nbytes for v in in_memory)
            free, _ = torch.cuda.mem_get_info(device)
            if need > DEVICE_SHARE * free:
                log.warning(
                    "the survey takes %s, more than %d%% of the GPU's %s free: it stays in "
                    "host memory and each batch is copied to the GPU (slower; "
                    "data.in_memory=false streams it from the store instead)",
                    gib(need), round(100 * DEVICE_SHARE), gib(free),
                )  # fmt: skip
                on_host = True
        for volume in volumes.values():
            if not (on_host and isinstance(volume, Volume)):
                volume.to(device)

    def _shard(self) -> tuple[int, int]:
        """(rank, world size) of this process: each reads its own part of every split."""
        trainer = self.trainer
        if trainer is None:
            return 0, 1
        return int(trainer.global_rank), int(trainer.world_size)

    def _batches(
        self, name: str, train: bool
    ) -> PatchBatches | TraceBatches | ChainedBatches | InterleavedBatches:
        rank, world = self._shard()
        shard = {"seed": self.seed, "rank": rank, "world_size": world}
        traces = self.consumes == TRACES
        if train:
            aug = self.augmentation
            if traces:
                live = np.asarray(self.survey[LIVE].values)
                region = self.splits["train"]
                batches = TraceBatches(
                    self.volume,
                    region,
                    live,
                    self.batch_size,
                    self.neighbourhood,
                    True,
                    aug,
                    **shard,
                )
                if self.patches_per_epoch is not None:  # the traces the patches would span
                    batches.sampler.draw = self.patches_per_epoch * self.patch[1]
                return batches
            sizes = [len(table) for table, _ in self.train_groups]
            draws = budget_shares(self.patches_per_epoch, sizes)
            parts = [
                self._training_part(table, size, draw, k, shard)
                for k, ((table, size), draw) in enumerate(
                    zip(self.train_groups, draws, strict=True)
                )
            ]
            return parts[0] if len(parts) == 1 else InterleavedBatches(parts, self.seed)
        if name not in self.held_out:
            raise ConfigError(f"the splits have no {name} block: {list(self.splits)}.")
        held = self.held_out[name]
        if traces:  # a trace has no direction: every test trace once, whatever the directions
            return TraceBatches(
                held.volume,
                held.region,
                held.live,
                self.batch_size,
                self.neighbourhood,
                False,
                None,
                **shard,
            )
        # one shard per direction: each section of each direction is scored exactly once
        batch = max(1, self.batch_size // 4)
        parts = [
            PatchBatches(held.volume, table, size, batch, False, None, **shard)
            for table, size in held.sections.values()
        ]
        return parts[0] if len(parts) == 1 else ChainedBatches(parts)

    def _training_part(
        self, table: PatchTable, size: tuple[int, int], draw: int | None, stream: int, shard: dict
    ) -> PatchBatches:
        """The training batches of one group of patches (one patch size)."""
        return PatchBatches(
            self.volume, table, size, self.batch_size, True, self.augmentation, **shard,
            draw=draw, stream=stream,
        )  # fmt: skip

    def train_dataloader(self) -> PatchBatches | TraceBatches | InterleavedBatches:
        return self._batches("train", True)

    def val_dataloader(self) -> PatchBatches | TraceBatches | ChainedBatches:
        return self._batches("val", False)

    def test_dataloader(self) -> PatchBatches | TraceBatches | ChainedBatches | NamedTestBatches:
        """The test split's batches, one direction after the other (``test_directions``);
        with test surveys of their own (one or several), theirs in turn, tagged by name."""
        if self.tests:
            return NamedTestBatches({name: self._batches(name, False) for name in self.tests})
        return self._batches("test", False)


def _check_test_directions(directions: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    if isinstance(directions, str):
        directions = (directions,)
    directions = tuple(directions or ())
    unknown = [d for d in directions if d not in SECTION_DIRECTIONS]
    if not directions or unknown or len(set(directions)) != len(directions):
        raise ConfigError(
            f"data.test_directions={list(directions)}: give each of inline and/or crossline "
            "at most once, e.g. data.test_directions=[inline] or [inline,crossline] (the F3 "
            "benchmark's protocol)."
        )
    return directions


def _concat(tables: list[PatchTable]) -> PatchTable:
    if len(tables) == 1:
        return tables[0]
    fields = PatchTable.__dataclass_fields__
    return PatchTable(*(np.concatenate([getattr(t, f) for t in tables]) for f in fields))
