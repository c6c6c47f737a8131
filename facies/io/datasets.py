"""Surveys stored by other tools, MDIO v1 (zarr) and segysak (zarr or netCDF), as survey
stores.

:func:`is_survey_dataset` tells such an input from SEG-Y and from facies' own stores;
:func:`open_survey_dataset` opens one lazily and maps its names
(:func:`facies.io.conventions.survey_view`; one line naming the expected layout where
it cannot); :func:`ingest_dataset` streams it, a block of inlines at a time, into a
survey store like the one ``facies ingest`` makes of SEG-Y: the same arrays, live mask,
QC counts and record (:func:`dataset_record`: what it was made from, so a cached store
is reused only when that is unchanged).
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.errors import FaciesError, GeometryError, OptionError
from facies.io import outputs
from facies.io.conventions import EXPECTED, SurveyView, survey_view
from facies.io.fingerprint import fingerprint
from facies.io.inline_blocks import InlineBlocks
from facies.io.labels import (
    LabelSource,
    check_class_names,
    check_ignore_label,
    check_labels,
    labels_record,
    load_class_names,
    load_npy,
)
from facies.io.segy.reader import BLOCK_BYTES, settle_live
from facies.io.segy.scan import ZERO_TRACES, ZERO_TRACES_DEAD, scan_segy
from facies.io.store_record import STORE_FORMAT
from facies.io.store_target import check_target, clear_leftovers
from facies.io.store_writer import SurveyStoreWriter
from facies.io.survey_qc import TraceQc, nonfinite_warning
from facies.names import CROSSLINE, INLINE, LABELS, LIVE, SAMPLE

log = logging.getLogger(__name__)

#: First bytes of a netCDF file: classic (CDF 1, 2, 5) or netCDF-4 (HDF5).
NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
#: Store attribute naming the dataset a store was made from (``source`` names a SEG-Y
#: file, whose headers a facies SEG-Y takes: a dataset has none to give).
SOURCE_DATASET = "source_dataset"


def is_survey_dataset(path: str | os.PathLike) -> bool:
    """``path`` is a zarr store that is not facies' own, or a netCDF file: a survey in
    another tool's layout (whether it can be mapped is :func:`open_survey_dataset`'s
    to say)."""
    path = Path(path)
    if path.is_dir():
        return outputs.store_attributes(path) is not None and not (
            outputs.is_facies_survey_store(path) or outputs.is_facies_prediction_store(path)
        )
    if path.is_file():
        with path.open("rb") as fh:
            return fh.read(8).startswith(NETCDF_MAGIC)
    return False


def made_from_dataset(attrs: dict[str, Any]) -> str | None:
    """The dataset a survey store was made from (its attributes), or None for SEG-Y."""
    return attrs.get(SOURCE_DATASET)


def open_survey_dataset(path: str | os.PathLike, sample_interval: float | None = None):
    """An MDIO v1 or segysak store (zarr or netCDF) as a lazy
    :class:`facies.io.conventions.SurveyView`: nothing is read but its metadata.

    Raises:
        FaciesError: it cannot be read, or its layout cannot be mapped (one line naming
            the expected one).
    """
    path = Path(path)
    options = {"chunks": None, "cache": False, "mask_and_scale": False, "decode_times": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # consolidated metadata absent, zarr 3 notes
            if path.is_dir():
                drop = _unreadable_arrays(path)
                ds = xr.open_dataset(path, engine="zarr", drop_variables=drop, **options)
            else:
                ds = xr.open_dataset(path, **options)
    except (OSError, ValueError, KeyError, TypeError, ImportError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FaciesError(
            f"{path} cannot be read as a survey dataset ({first}); give a zarr store or "
            f"netCDF file with {EXPECTED}."
        ) from None
    try:
        return survey_view(ds, sample_interval)
    except FaciesError as err:
        raise FaciesError(f"{path}: {err}") from None


def _unreadable_arrays(path: Path) -> list[str]:
    """Arrays of a zarr store facies never reads and xarray may not decode: structured
    or raw bytes (MDIO's trace ``headers`` and ``raw_headers``)."""
    try:
        group = zarr.open_group(path, mode="r")
        return [
            name
            for name, array in group.arrays()
            if array.dtype.fields is not None or array.dtype.kind == "V"
        ]
    except Exception:  # zarr cannot list them (a dtype it does not know): MDIO's names
        return ["headers", "raw_headers"]


def labels_name(view: SurveyView, labels: str | os.PathLike | None) -> str | None:
    """The labels of a dataset: ``labels`` as given (a file, or the name of one of its
    variables), else its variable ``labels`` (facies' own name), else None."""
    if labels:
        return str(labels)
    return LABELS if LABELS in view.variable_names() else None


def dataset_record(
    source: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    ignore_label: int | None = None,
    class_names: str | os.PathLike | list[str] | None = None,
    zero_traces: str = ZERO_TRACES_DEAD,
    sample_interval: float | None = None,
) -> dict[str, Any]:
    """What a store made from the dataset ``source`` holds, as its record says it (the
    counterpart of :func:`facies.io.store.store_record` for SEG-Y): the dataset's
    fingerprint (:func:`facies.io.fingerprint.fingerprint`: file count and sizes, and its
    metadata, for a zarr store; size and edges for a netCDF file), the labels (a file's
    size and checksum, or the variable's name), the reading options, ``ignore_label``,
    the class names and the store format. Paths are left out."""
    dataset = fingerprint(source)
    dataset.pop("path", None)
    label_record = None
    if labels:
        path = Path(labels)
        label_record = labels_record(path) if path.is_file() else {"variable": str(labels)}
    record = {
        "format": STORE_FORMAT,
        "dataset": dataset,
        "labels": label_record,
        "options": {"zero_traces": zero_traces, "sample_interval": sample_interval},
        "ignore_label": ignore_label,
        "class_names": load_class_names(class_names),
    }
    return json.loads(json.dumps(record))


class DatasetLabels(LabelSource):
    """Labels of a dataset's survey, read a block of inlines at a time: one of its
    variables (on the survey's dims, any order), a ``.npy`` (inline, crossline, sample)
    cube, or a SEG-Y file on the same inline/crossline/sample grid."""

    def __init__(self, view: SurveyView, spec: str | os.PathLike, **segy_options: Any) -> None:
        self.view = view
        self.shape = view.shape
        self.path = Path(spec)
        self._variable = self._cube = self._blocks = None
        if str(spec) in view.variable_names():
            self._variable = str(spec)
        elif self.path.suffix.lower() == ".npy" and self.path.is_file():
            self._cube = load_npy(self.path, self.shape)
        elif self.path.is_file():
            scan = scan_segy(self.path, **segy_options)
            _check_grid(scan, view)
            self._blocks = InlineBlocks(scan)
        else:
            raise OptionError(
                f"{{key}}={spec}: no such file, and the dataset has no variable of that name "
                f"on the survey's dims (it has {view.variable_names()}); name a variable, or "
                "give a labels file (.npy or SEG-Y on the same grid).",
                option="labels",
            )

    def _raw(self, start: int, stop: int) -> np.ndarray:
        if self._variable is not None:
            return self.view.read(self._variable, start, stop)
        if self._blocks is not None:
            return self._blocks.read(start, stop)
        return np.asarray(self._cube[start:stop])

    def _ranges(self):
        yield from block_ranges(self.shape)

    def flag_names(self) -> list[str] | None:
        """Class names from a labels variable's CF ``flag_values``/``flag_meanings``
        (ids 0, 1, ...), or None."""
        if self._variable is None:
            return None
        attrs = self.view.source[self._variable].attrs
        values, meanings = attrs.get("flag_values"), attrs.get("flag_meanings")
        if values is None or not isinstance(meanings, str):
            return None
        values, words = [int(v) for v in np.atleast_1d(values)], meanings.split()
        if values != list(range(len(words))):
            return None
        return words


def _check_grid(scan, view: SurveyView) -> None:
    coords = view.coordinates
    problems = []
    for name, theirs, ours in (
        ("inlines", scan.grid.inlines, coords[INLINE].values),
        ("crosslines", scan.grid.crosslines, coords[CROSSLINE].values),
        ("samples", scan.samples, coords[SAMPLE].values),
    ):
        if theirs.shape != ours.shape or not np.allclose(theirs, ours):
            problems.append(f"{name}: {len(theirs)} in the labels, {len(ours)} in the dataset")
    if problems:
        raise GeometryError(
            f"labels {scan.layout.path} are not on the dataset's grid ({'; '.join(problems)}); "
            "labels must be on the same inline/crossline/sample grid."
        )


def block_ranges(shape: tuple[int, int, int], align: int = 1):
    """Inline index ranges of about half BLOCK_BYTES of float32 (ingest holds two
    blocks: one being written, one read), a multiple of ``align``."""
    nil, nxl, ns = shape
    lines = max(1, BLOCK_BYTES // 2 // max(1, nxl * ns * 4))
    step = min(nil, max(align, lines // align * align)) or 1
    for start in range(0, nil, step):
        yield start, min(start + step, nil)


def settle_block(
    block: np.ndarray, mask: np.ndarray, zero_traces_dead: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What is live in a block read from a dataset: cells its mask says hold a trace,
    less traces with no finite sample (a missing trace: MDIO and segysak fill with NaN
    or 0) and, unless kept live, all-zero traces. ``block`` is changed in place: cells
    that are not live become 0. Returns ``(live, zero, missing)``."""
    missing = ~mask | ~np.isfinite(block).any(axis=-1)
    live, zero = settle_live(block, ~missing, zero_traces_dead)
    return live, zero, missing


def check_zero_traces(zero_traces: str) -> None:
    if zero_traces not in ZERO_TRACES:
        raise OptionError(
            f"{{key}}={zero_traces!r} is not one of {', '.join(ZERO_TRACES)}.",
            option="zero_traces",
        )


def ingest_dataset(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    ignore_label: int | None = None,
    class_names: str | os.PathLike | list[str] | None = None,
    overwrite: bool = False,
    zero_traces: str = ZERO_TRACES_DEAD,
    sample_interval: float | None = None,
    record: dict[str, Any] | None = None,
    **segy_options: Any,
) -> Path:
    """Write an MDIO v1 or segysak survey (zarr or netCDF) to a facies survey store.

    Args:
        source: the dataset (a zarr folder or a netCDF file), in any of the names
            :mod:`facies.io.conventions` maps, dims in any order.
        out: the store folder to create (``*.zarr``), under the output rule.
        labels: the name of a variable of the dataset holding class ids, or a labels
            file (``.npy`` cube, or SEG-Y on the same grid); None uses a variable named
            ``labels`` if there is one.
        ignore_label, class_names, overwrite: as :func:`facies.io.store.ingest_segy`;
            class names default to a labels variable's CF ``flag_meanings``.
        zero_traces: ``dead`` (all-zero traces are not live) or ``live``.
        sample_interval: the sample step where the dataset's sample dim has no values.
        record: :func:`dataset_record` of these arguments, where the caller has it.
        **segy_options: how to read a SEG-Y labels file.

    What is live: the cells MDIO's ``trace_mask`` marks (every cell for segysak), less
    traces without a finite sample and all-zero traces (unless ``zero_traces=live``).
    Memory is bounded by two blocks of inlines (one read while the last is written);
    the store is written as :func:`facies.io.store.ingest_segy` writes one
    (:class:`facies.io.store_writer.SurveyStoreWriter`).
    """
    started = time.time()
    check_zero_traces(zero_traces)
    source = Path(source)
    view = open_survey_dataset(source, sample_interval)
    labels = labels_name(view, labels)
    label_file = labels if labels and Path(labels).is_file() else None
    out = check_target(out, overwrite, (source, label_file, class_names))
    clear_leftovers(out, started)
    label_source = DatasetLabels(view, labels, **segy_options) if labels else None
    names = load_class_names(class_names)
    if names is None and label_source is not None:
        names = label_source.flag_names()
    check_class_names(names)
    check_ignore_label(ignore_label, names)
    nil, nxl, ns = view.shape
    if label_source is not None:
        mask = np.concatenate([view.trace_mask(a, b) for a, b in block_ranges(view.shape)])
        check_labels(label_source.class_ids(mask), names, ignore_label, str(labels))
    # both copies of the cubes (the section layout: facies.io.store_layout)
    outputs.check_space(out.parent, 2 * nil * nxl * ns * (6 if labels else 4), path=out)
    if record is None:
        record = dataset_record(
            source, labels=labels, ignore_label=ignore_label, class_names=names,
            zero_traces=zero_traces, sample_interval=sample_interval,
        )  # fmt: skip
    meta = view.coordinates.assign({LIVE: ((INLINE, CROSSLINE), np.zeros((nil, nxl), bool))})
    meta.attrs.update({SOURCE_DATASET: str(source.resolve()), "zero_traces": zero_traces})
    has_labels = label_source is not None
    with SurveyStoreWriter(
        out, meta, has_labels=has_labels, ignore_label=ignore_label, record=record
    ) as writer:
        stats, live = _stream(view, writer, label_source, zero_traces == ZERO_TRACES_DEAD)
        writer.finish(live, stats, names, str(labels) if has_labels else None)
    if stats["nonfinite_samples"]:
        log.warning("%s: %s", source, nonfinite_warning(**stats))
    log.info("wrote survey store %s (from the %s dataset %s)", out, view.convention, source)
    return out


def _stream(view, writer: SurveyStoreWriter, label_source, zero_dead: bool):
    """Copy the survey block by block through ``writer``; returns the QC counts and the
    live mask."""
    nil, nxl, _ = view.shape
    live = np.zeros((nil, nxl), dtype=bool)
    held = 0
    qc = TraceQc(nil * nxl)
    for start, stop in block_ranges(view.shape):
        block = np.array(view.read(view.amplitude, start, stop), dtype=np.float32)
        here, zero, missing = settle_block(block, view.trace_mask(start, stop), zero_dead)
        live[start:stop] = here
        held += int(np.count_nonzero(~missing))
        qc.add(block, here, zero)
        labels = label_source.read(start, stop) if label_source is not None else None
        writer.write(start, block, here, labels)
    stats = qc.stats(nil * nxl)
    stats["missing_traces"] = nil * nxl - held
    return stats, live
