"""The LightningDataModule: survey in memory, leak-free splits, patches and sections."""

from __future__ import annotations

import logging
import math

import lightning as L
import numpy as np
import xarray as xr

from facies.data.normalization import NormStats, estimate_stats, normalize
from facies.data.patches import PatchBatches, Volume
from facies.data.splits import InlineRange, make_splits
from facies.data.tiling import PatchTable, patch_table
from facies.data.traces import TraceBatches
from facies.errors import ConfigError
from facies.names import AMPLITUDE, LABELS, LIVE

log = logging.getLogger(__name__)

#: Label value the loss and the metrics ignore (PyTorch's default).
IGNORE_INDEX = -100


class SurveyDataModule(L.LightningDataModule):
    """Training patches from inline and crossline sections; whole inline sections for
    validation and test, so every held-out sample is scored exactly once.

    Args:
        survey: a survey with ``labels`` (e.g. from :func:`facies.io.store.open_survey`).
        patch: (samples, traces) of a training patch.
        stride: (samples, traces) between patch starts.
        batch_size: patches per training batch; sections per evaluation batch.
        splits: ``{"fractions": {...}}`` or ``{"ranges": {...}}`` for make_splits.
        size_multiple: the model needs heights and widths divisible by this.
        directions: section directions for training patches.
        augmentation: ``{"enabled", "amplitude_scale", "noise"}``.
        norm_stats: use these instead of estimating them on the training region.
        seed: shuffling and augmentation seed.
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
        mode: str = "patches",
        neighbourhood: int = 0,
    ) -> None:
        super().__init__()
        if mode not in ("patches", "traces"):
            raise ConfigError(f"data mode must be 'patches' or 'traces', not {mode!r}.")
        self.mode, self.neighbourhood = mode, neighbourhood
        if LABELS not in survey:
            raise ConfigError("the survey has no labels; ingest it with labels=... first.")
        self.survey = survey
        self.patch = tuple(int(v) for v in patch)
        if any(v % size_multiple for v in self.patch):
            padded = tuple(math.ceil(v / size_multiple) * size_multiple for v in self.patch)
            raise ConfigError(
                f"patch {self.patch} must be a multiple of {size_multiple} (the U-Net's "
                f"2**depth); use data.patch=[{padded[0]},{padded[1]}]."
            )
        self.stride = tuple(int(v) for v in stride)
        self.batch_size, self.seed = batch_size, seed
        self.size_multiple = size_multiple
        self.directions = tuple(directions)
        self.augmentation = dict(augmentation or {})
        nil = survey.sizes["inline"]
        splits = dict(splits or {})
        self.splits: dict[str, InlineRange] = make_splits(
            nil, splits.get("fractions"), splits.get("ranges"), gap=math.ceil(self.patch[1] / 2)
        )
        self.norm_stats = NormStats(**norm_stats) if norm_stats else None
        self.volume: Volume | None = None
        self.tables: dict[str, PatchTable] = {}

    @property
    def class_names(self) -> list[str]:
        names = self.survey.attrs.get("class_names")
        if names:
            return list(names)
        counts = self.survey.attrs.get("class_counts") or []
        return [str(k) for k in range(len(counts))]

    def setup(self, stage: str | None = None) -> None:
        if self.volume is not None:
            return
        amplitude = np.asarray(self.survey[AMPLITUDE].values)
        labels = np.asarray(self.survey[LABELS].values).astype(np.int64)
        live = np.asarray(self.survey[LIVE].values)
        ignore = self.survey.attrs.get("ignore_label")
        if ignore is not None:
            labels[labels == ignore] = IGNORE_INDEX
        labels[~live] = IGNORE_INDEX
        if self.norm_stats is None:
            train = self.splits["train"].as_slice()
            self.norm_stats = estimate_stats(amplitude[train], live[train], self.seed)
        self.volume = Volume(normalize(amplitude, self.norm_stats), labels, IGNORE_INDEX)
        _, nxl, ns = amplitude.shape
        self.tables["train"] = self._labelled(
            patch_table(self.splits["train"], nxl, ns, self.patch, self.stride, self.directions)
        )
        for name in ("val", "test"):
            if name in self.splits:
                self.tables[name] = patch_table(
                    self.splits[name], nxl, ns, self.section_size, self.section_size, ("inline",)
                )
        log.info(
            "splits %s; %d training patches",
            {k: (v.start, v.stop) for k, v in self.splits.items()},
            len(self.tables["train"]),
        )

    @property
    def section_size(self) -> tuple[int, int]:
        """A whole inline section, padded to the model's size multiple."""
        _, nxl, ns = (self.survey.sizes[d] for d in ("inline", "crossline", "sample"))
        m = self.size_multiple
        return math.ceil(ns / m) * m, math.ceil(nxl / m) * m

    def _labelled(self, table: PatchTable) -> PatchTable:
        """Drop patches without one labelled sample (sparse interpretations)."""
        keep = np.zeros(len(table), dtype=bool)
        for start in range(0, len(table), 256):
            rows = np.arange(start, min(start + 256, len(table)))
            mask = self.volume.cut(table, rows, self.patch)["mask"]
            keep[rows] = (mask != IGNORE_INDEX).flatten(1).any(1).cpu().numpy()
        if not keep.any():
            raise ConfigError("no training patch holds a labelled sample; check the labels.")
        return table.subset(keep)

    def class_weights(self) -> list[float]:
        """Inverse-frequency class weights from the training region's labels (mean 1)."""
        labels = self.volume.labels[self.splits["train"].as_slice()]
        labels = labels[labels != IGNORE_INDEX]
        counts = np.bincount(labels.cpu().numpy(), minlength=len(self.class_names))
        weights = counts.sum() / np.maximum(counts, 1) / len(counts)
        return (weights / weights.mean()).tolist()

    def move_to(self, device) -> None:
        """Hold the survey on ``device`` (the GPU when training there)."""
        if self.volume is not None:
            self.volume.to(device)

    def _batches(self, name: str, train: bool) -> PatchBatches | TraceBatches:
        if name not in self.tables:
            raise ConfigError(f"the splits have no {name} block: {list(self.splits)}.")
        if self.mode == "traces":
            live = np.asarray(self.survey[LIVE].values)
            aug = self.augmentation if train else None
            return TraceBatches(self.volume, self.splits[name], live, self.batch_size,
                                self.neighbourhood, train, aug, self.seed)  # fmt: skip
        size = self.patch if train else self.section_size
        batch = self.batch_size if train else max(1, self.batch_size // 4)
        aug = self.augmentation if train else None
        return PatchBatches(self.volume, self.tables[name], size, batch, train, aug, self.seed)

    def train_dataloader(self) -> PatchBatches:
        return self._batches("train", True)

    def val_dataloader(self) -> PatchBatches:
        return self._batches("val", False)

    def test_dataloader(self) -> PatchBatches:
        return self._batches("test", False)


def datamodule_for(
    survey: xr.Dataset,
    data: dict,
    model: dict,
    seed: int = 0,
    norm_stats: dict | None = None,
    patch: tuple[int, int] | None = None,
) -> SurveyDataModule:
    """The data module a model needs: patches for the U-Net, traces for the LSTM.

    Both see the same splits (the gaps follow the patch width), so their test scores
    are on the same samples.
    """
    traces = model.get("name") == "lstm"
    return SurveyDataModule(
        survey,
        patch=tuple(patch or data["patch"]),
        stride=tuple(data["stride"]),
        batch_size=data["trace_batch_size"] if traces else data["batch_size"],
        splits=data.get("splits"),
        size_multiple=2 ** model.get("depth", 0),
        directions=tuple(data.get("directions", ("inline", "crossline"))),
        augmentation=data.get("augmentation"),
        norm_stats=norm_stats,
        seed=seed,
        mode="traces" if traces else "patches",
        neighbourhood=model.get("neighbourhood", 0),
    )
