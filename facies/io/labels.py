"""Facies labels for a survey: from a SEG-Y file with the same geometry, a .npy cube, or a
folder of labelled sections (images or arrays, :mod:`facies.io.section_labels`).

Labels are checked before a store is written (:func:`check_labels`): class ids must
be whole numbers that fit the store's 16-bit labels, count from 0, agree with the class
names, and not look like an "undefined" code read as a class. ``.npy`` files are read
as arrays only: nothing in them is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from facies.errors import ConfigError, GeometryError, OptionError
from facies.io.inline_blocks import InlineBlocks
from facies.io.section_labels import LEGEND, SectionLabels, read_legend
from facies.io.segy.reader import BLOCK_BYTES
from facies.io.segy.scan import SegyScan, scan_segy

LABEL_DTYPE = np.int16
LABEL_MIN, LABEL_MAX = int(np.iinfo(LABEL_DTYPE).min), int(np.iinfo(LABEL_DTYPE).max)
#: Without class names, labels are refused when the classes they imply (largest id + 1)
#: are more than MAX_IMPLIED_CLASSES, or more than SPARSE_FROM while fewer than half of
#: the ids 0..largest are present: an "undefined" code (255, 9999, 30000) read as a class.
MAX_IMPLIED_CLASSES = 256
SPARSE_FROM = 64
#: How many values an error message quotes.
QUOTED = 12


class LabelSource:
    """Reads label blocks aligned with a seismic survey's inline blocks."""

    def __init__(self, path: str | os.PathLike, seismic: SegyScan, **segy_options: Any) -> None:
        self.path = Path(path)
        self.shape = (*seismic.grid.shape, seismic.layout.samples_per_trace)
        if not self.path.exists():
            raise OptionError(
                f"labels file {self.path} does not exist; check {{key}}=...", option="labels"
            )
        self._blocks = self._cube = None
        if self.path.is_dir():  # one file per labelled section
            grid = seismic.grid
            self._cube = SectionLabels(self.path, grid.inlines, grid.crosslines, self.shape[2])
            return
        if self.path.suffix.lower() == ".npy":
            self._cube = load_npy(self.path, self.shape)
            return
        scan = scan_segy(self.path, **segy_options)
        _check_same_geometry(scan, seismic)
        self._blocks = InlineBlocks(scan)

    def _raw(self, start: int, stop: int) -> np.ndarray:
        """Labels of inline indices ``start:stop`` as stored: integers (.npy) or floats."""
        if self._blocks is None:
            return np.asarray(self._cube[start:stop])
        return self._blocks.read(start, stop)

    def _ranges(self) -> Iterator[tuple[int, int]]:
        if self._blocks is not None:
            yield from self._blocks.ranges()
            return
        nil, nxl, ns = self.shape
        step = max(1, BLOCK_BYTES // max(1, nxl * ns * self._cube.dtype.itemsize))
        for start in range(0, nil, step):
            yield start, min(start + step, nil)

    def class_ids(self, live: np.ndarray) -> np.ndarray:
        """The distinct label values of the traces where ``live`` (inline, crossline) is
        True, as sorted int64, read a block at a time.

        Raises:
            ConfigError: SEG-Y labels that are not whole numbers (or not finite).
        """
        found = np.zeros(0, dtype=np.int64)
        for start, stop in self._ranges():
            values = self._raw(start, stop)[live[start:stop]]
            if values.size == 0:
                continue
            if not np.issubdtype(values.dtype, np.integer):
                bad = values[~np.isfinite(values) | (np.rint(values) != values)]
                if bad.size:
                    raise ConfigError(
                        f"{self.path}: label values must be whole numbers (class ids); found "
                        f"{_quote(np.unique(bad))}. Write class ids 0, 1, 2, ... into the labels."
                    )
            found = np.union1d(found, _distinct(values))
        return found

    def read(self, start: int, stop: int) -> np.ndarray:
        """Labels of inline indices ``start:stop`` as int16.

        Values are those :meth:`class_ids` checked (:func:`check_labels`); those of traces
        it did not look at (not live) may not survive the conversion: overwrite them.
        """
        raw = self._raw(start, stop)
        if not np.issubdtype(raw.dtype, np.integer):
            raw = np.rint(np.nan_to_num(raw, nan=0.0, posinf=LABEL_MAX, neginf=LABEL_MIN))
        return np.clip(raw, LABEL_MIN, LABEL_MAX).astype(LABEL_DTYPE)


def labels_record(path: str | os.PathLike, chunk: int = 16 << 20) -> dict[str, Any]:
    """What a store records of its labels: size and a checksum of every byte, of a file
    or of every file of a folder of labelled sections (names included), so that an
    interpreter's edit of any section makes a new store."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.blake2b(digest_size=20)
    size = 0
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        size += file.stat().st_size
        with file.open("rb") as fh:
            while block := fh.read(chunk):
                digest.update(block)
    record = {"size": size, "checksum": f"blake2b:{digest.hexdigest()}"}
    return {**record, "files": len(files)} if path.is_dir() else record


def load_npy(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """A .npy label cube as a read-only memory map, checked before it is mapped.

    Only the array header is parsed; a file that is no .npy array, or whose array holds
    Python objects, is refused in one line and never unpickled.
    """
    fmt = np.lib.format
    try:
        with path.open("rb") as fh:
            version = fmt.read_magic(fh)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else None
            read_header = read_header or fmt.read_array_header_2_0
            file_shape, _, dtype = read_header(fh)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as err:
        raise ConfigError(
            f"{path} is not a .npy array file ({_first_line(err)}); save the labels with "
            "np.save(path, labels.astype(np.int16)), or give a SEG-Y file of labels."
        ) from None
    if dtype.hasobject:
        raise ConfigError(
            f"{path} holds Python objects ({dtype}), not class ids; facies never loads "
            "pickled data. Save plain integers: np.save(path, labels.astype(np.int16))."
        )
    if tuple(file_shape) != shape:
        raise GeometryError(
            f"{path}: labels of shape {tuple(file_shape)} do not fit the survey, whose "
            f"(inline, crossline, sample) shape is {shape}."
        )
    if not np.issubdtype(dtype, np.integer):
        raise ConfigError(
            f"{path}: labels must be integers, not {dtype}; save class ids with "
            "np.save(path, labels.astype(np.int16))."
        )
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ConfigError(
            f"{path}: cannot read the .npy array ({_first_line(err)}); the file is probably "
            "truncated: save it again with np.save."
        ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _distinct(values: np.ndarray, chunk: int = 2**22) -> np.ndarray:
    """Sorted distinct values of an integer (or whole-valued float) array, as int64."""
    values = values.ravel()
    lo, hi = values.min(), values.max()
    if np.issubdtype(values.dtype, np.integer) and int(hi) - int(lo) < 2**20:
        seen = np.zeros(int(hi) - int(lo) + 1, dtype=bool)
        for k in range(0, values.size, chunk):  # bounded temporaries
            part = values[k : k + chunk].astype(np.int64) - int(lo)
            seen[np.flatnonzero(np.bincount(part))] = True
        return np.flatnonzero(seen).astype(np.int64) + int(lo)
    unique = np.unique(values)
    if unique.dtype.kind == "u":
        unique = np.minimum(unique, 2**62)  # beyond any int16: refused anyway
    elif unique.dtype.kind == "f":
        unique = np.clip(unique, -(2.0**62), 2.0**62)
    return unique.astype(np.int64)


def _quote(values: np.ndarray | list) -> str:
    values = [int(v) if float(v).is_integer() else float(v) for v in np.asarray(values).ravel()]
    text = ", ".join(str(v) for v in values[:QUOTED])
    return text + (f", ... ({len(values)} in all)" if len(values) > QUOTED else "")


def check_ignore_label(ignore_label: Any, names: list[str] | None) -> None:
    """``ignore_label`` must be a whole number that fits the labels and names no class."""
    if ignore_label is None:
        return
    if isinstance(ignore_label, bool) or not isinstance(ignore_label, int | np.integer):
        raise OptionError(
            f"{{key}}={ignore_label!r}: the value of unlabelled samples must be a whole "
            "number, e.g. {key}=255.",
            option="ignore_label",
        )
    if not LABEL_MIN <= ignore_label <= LABEL_MAX:
        raise OptionError(
            f"{{key}}={ignore_label} does not fit the store's 16-bit labels ({LABEL_MIN}.."
            f"{LABEL_MAX}); save the labels with another value for unlabelled samples "
            "(e.g. -1) and set {key} to it.",
            option="ignore_label",
        )
    if names is not None and 0 <= ignore_label < len(names):
        raise OptionError(
            f"{{key}}={ignore_label} is the id of class {names[ignore_label]!r} (the "
            f"{len(names)} class names are ids 0..{len(names) - 1}): samples of that class "
            "would be ignored. Set {key} to the value of unlabelled samples, which is no "
            "class (e.g. 255 or -1), or leave it unset.",
            option="ignore_label",
            others=("classes",),
        )


def check_class_names(names: list[str] | None) -> None:
    """Class names must be unique, and there must be some."""
    if names is None:
        return
    if not names:
        raise OptionError(
            "{key} is an empty list; name the classes (ids 0, 1, ...) or leave {key} unset.",
            option="classes",
        )
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    repeated = {name: n for name, n in seen.items() if n > 1}
    if repeated:
        listed = ", ".join(f"{name!r} ({n} times)" for name, n in repeated.items())
        raise OptionError(
            f"{{key}} repeats class names: {listed}. Give each class id (0, 1, ...) one "
            "name of its own.",
            option="classes",
        )


def check_labels(
    ids: np.ndarray, names: list[str] | None, ignore_label: int | None, source: str
) -> None:
    """Refuse label values that would make training fail or learn the wrong classes.

    Args:
        ids: the distinct label values of the live traces (:meth:`LabelSource.class_ids`).
        names: the class names (id k is ``names[k]``), or None.
        ignore_label: the value of unlabelled samples, or None.
        source: the labels file, for messages.

    Raises:
        OptionError: with the values found and the option that fixes it.
    """
    check_class_names(names)
    check_ignore_label(ignore_label, names)
    ids = np.asarray(ids, dtype=np.int64)
    classes = ids[ids != ignore_label] if ignore_label is not None else ids
    if classes.size == 0:  # nothing labelled: training says so; the store is still a survey
        return
    too_big = classes[classes > LABEL_MAX]
    if too_big.size:
        raise OptionError(
            f"{source}: the labels hold class ids above {LABEL_MAX} ({_quote(too_big)}), which "
            f"16-bit class ids cannot hold; the ids found are {_quote(classes)}. Number the "
            "classes 0, 1, 2, ... and give unlabelled samples a value that fits (e.g. -1, then "
            "set {key}=-1).",
            option="ignore_label",
        )
    negative = classes[classes < 0]
    if negative.size:
        raise OptionError(
            f"{source}: the labels hold negative class ids ({_quote(negative)}); class ids count "
            f"from 0. If {negative[0]} marks unlabelled samples, set {{key}}={negative[0]}; "
            "otherwise number the classes 0, 1, 2, ...",
            option="ignore_label",
        )
    top = int(classes[-1])
    if names is not None:
        beyond = classes[classes >= len(names)]
        if beyond.size:
            raise OptionError(
                f"{source}: the labels hold class ids {_quote(beyond)}, but {{key}} lists "
                f"{len(names)} names (ids 0..{len(names) - 1}: {', '.join(names)}); the ids "
                f"found are {_quote(classes)}. Name every class in {{key}}; or, if {beyond[-1]} "
                f"marks unlabelled samples, set {{ignore_label}}={beyond[-1]}.",
                option="classes",
                others=("ignore_label",),
            )
        if len(names) > top + 1:
            unused = names[top + 1 :]
            raise OptionError(
                f"{source}: {{key}} lists {len(names)} names, but the labels hold ids "
                f"{_quote(classes)} only: no sample is of class {', '.join(map(repr, unused))}. "
                f"Give one name per class id 0..{top} ({top + 1} names), or check the labels.",
                option="classes",
            )
        return
    implied = top + 1
    if implied > MAX_IMPLIED_CLASSES or (implied > SPARSE_FROM and classes.size < implied / 2):
        raise OptionError(
            f"{source}: the labels hold the ids {_quote(classes)}: read as classes 0..{top} they "
            f"make {implied:,} classes, {implied - classes.size:,} of them without a sample. "
            f"If {top} marks unlabelled samples, set {{key}}={top}; otherwise number the "
            "classes 0, 1, 2, ... (and name them with {classes}).",
            option="ignore_label",
            others=("classes",),
        )


def _check_same_geometry(labels: SegyScan, seismic: SegyScan) -> None:
    problems = []
    for name, a, b in (
        ("inlines", labels.grid.inlines, seismic.grid.inlines),
        ("crosslines", labels.grid.crosslines, seismic.grid.crosslines),
        ("samples", labels.samples, seismic.samples),
    ):
        if a.shape != b.shape or not np.allclose(a, b):
            problems.append(f"{name} {_span(a)} vs {_span(b)}")
    # the cells that hold a trace, not the live ones: a labels file need not copy the
    # seismic's dead flags
    if not problems and not np.array_equal(labels.grid.trace_mask(), seismic.grid.trace_mask()):
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
    """Class names from a list, a JSON file holding a list, a legend (``id,name,R,G,B``
    CSV, or a folder of labelled sections holding one), or None."""
    if spec is None or isinstance(spec, list | tuple):
        return None if spec is None else [str(name) for name in spec]
    path = Path(spec)
    if path.is_dir():
        path = path / LEGEND
    if path.suffix.lower() == ".csv":
        return read_legend(path)[1]
    try:
        names = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"class names: cannot read {path} as JSON ({err}).") from None
    if not isinstance(names, list):
        raise ConfigError(f"class names: {path} must hold a JSON list of names.")
    return [str(name) for name in names]
