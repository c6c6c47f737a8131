"""Facies labels for a survey: from a SEG-Y file with the same geometry, or a .npy cube."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from facies.errors import ConfigError, GeometryError, OptionError
from facies.io.inline_blocks import InlineBlocks
from facies.io.segy.scan import SegyScan, scan_segy

LABEL_DTYPE = np.int16


class LabelSource:
    """Reads label blocks aligned with a seismic survey's inline blocks."""

    def __init__(self, path: str | os.PathLike, seismic: SegyScan, **segy_options: Any) -> None:
        self.path = Path(path)
        shape = (*seismic.grid.shape, seismic.layout.samples_per_trace)
        if not self.path.exists():
            raise OptionError(
                f"labels file {self.path} does not exist; check {{key}}=...", option="labels"
            )
        if self.path.suffix == ".npy":
            self._cube = np.load(self.path, mmap_mode="r")
            if self._cube.shape != shape:
                raise GeometryError(
                    f"{self.path}: labels of shape {self._cube.shape} do not fit the survey, "
                    f"whose (inline, crossline, sample) shape is {shape}."
                )
            if not np.issubdtype(self._cube.dtype, np.integer):
                raise ConfigError(
                    f"{self.path}: labels must be integers, not {self._cube.dtype}; save "
                    "class ids with np.save(path, labels.astype(np.int16))."
                )
            self._blocks = None
            return
        scan = scan_segy(self.path, **segy_options)
        _check_same_geometry(scan, seismic)
        self._blocks = InlineBlocks(scan)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Labels of inline indices ``start:stop`` as int16."""
        if self._blocks is None:
            return np.asarray(self._cube[start:stop]).astype(LABEL_DTYPE)
        block = self._blocks.read(start, stop)
        labels = np.rint(block).astype(LABEL_DTYPE)
        if not np.array_equal(labels, block):
            raise ConfigError(
                f"{self.path}: label values must be whole numbers (class ids); found "
                f"{block[labels != block][:3].tolist()}."
            )
        return labels


def _check_same_geometry(labels: SegyScan, seismic: SegyScan) -> None:
    problems = []
    for name, a, b in (
        ("inlines", labels.grid.inlines, seismic.grid.inlines),
        ("crosslines", labels.grid.crosslines, seismic.grid.crosslines),
        ("samples", labels.samples, seismic.samples),
    ):
        if a.shape != b.shape or not np.allclose(a, b):
            problems.append(f"{name} {_span(a)} vs {_span(b)}")
    if not problems and not np.array_equal(labels.grid.live_mask(), seismic.grid.live_mask()):
        problems.append("the cells that hold traces differ")
    if problems:
        raise GeometryError(
            f"labels {labels.layout.path} do not match the seismic {seismic.layout.path}: "
            + "; ".join(problems)
            + ". Labels must be on the same inline/crossline/sample grid."
        )


def _span(values: np.ndarray) -> str:
    return f"{values[0]:g}..{values[-1]:g} ({len(values)})" if len(values) else "(none)"


def load_class_names(spec: str | os.PathLike | list[str] | None) -> list[str] | None:
    """Class names from a list, a JSON file holding a list, or None."""
    if spec is None or isinstance(spec, list | tuple):
        return None if spec is None else [str(name) for name in spec]
    path = Path(spec)
    try:
        names = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"class names: cannot read {path} as JSON ({err}).") from None
    if not isinstance(names, list):
        raise ConfigError(f"class names: {path} must hold a JSON list of names.")
    return [str(name) for name in names]
