"""The survey store: a chunked zarr copy of a survey that training and inference read.

``ingest_segy`` streams a SEG-Y file into the store a block of inlines at a time
(peak memory bounded by the block) and writes it atomically: into a temporary
folder beside the target, renamed into place only when complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.errors import FaciesError, OptionError, OutputError
from facies.io.inline_blocks import InlineBlocks
from facies.io.labels import LABEL_DTYPE, LabelSource, load_class_names
from facies.io.segy.reader import progress, survey_coordinates
from facies.io.segy.scan import scan_segy
from facies.names import AMPLITUDE, DIMS, LABELS

log = logging.getLogger(__name__)

#: Chunk edge along inline and crossline; samples are chunked by SAMPLE_CHUNK.
LATERAL_CHUNK = 32
SAMPLE_CHUNK = 1024
#: Live traces sampled (at most) for the amplitude percentiles.
STAT_TRACES = 4096
PERCENTILES = (0.1, 1, 5, 25, 50, 75, 95, 99, 99.9)


def ingest_segy(
    segy: str | os.PathLike,
    out: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    ignore_label: int | None = None,
    class_names: str | os.PathLike | list[str] | None = None,
    overwrite: bool = False,
    **segy_options: Any,
) -> Path:
    """Write a SEG-Y survey (and optional labels) to a zarr survey store.

    Args:
        segy: the seismic SEG-Y file.
        out: the store folder to create (``*.zarr``).
        labels: a SEG-Y file with the same geometry, or a .npy (inline, crossline,
            sample) array of class ids.
        ignore_label: the label value of unlabelled samples (ignored by training and
            metrics); dead traces get it too.
        class_names: names of the classes, as a list or a JSON file holding one.
        overwrite: replace an existing store.
        **segy_options: how to read the SEG-Y files (``iline``, ``xline``, ...: the
            names in :data:`facies.io.segy.options.SEGY_OPTIONS`, a job's ``segy.*``).
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out} exists; remove it or pass overwrite=true.")
    scan = scan_segy(segy, **segy_options)
    label_source = LabelSource(labels, scan, **segy_options) if labels else None
    names = load_class_names(class_names)
    nil, nxl = scan.grid.shape
    ns = scan.layout.samples_per_trace
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        meta = survey_coordinates(scan)
        meta.to_zarr(tmp, mode="w", consolidated=False)
        group = zarr.open_group(tmp, mode="a")
        chunks = (LATERAL_CHUNK, LATERAL_CHUNK, min(ns, SAMPLE_CHUNK))
        amplitude = _create(group, AMPLITUDE, (nil, nxl, ns), chunks, np.float32, 0.0)
        label_array = None
        if label_source is not None:
            fill = 0 if ignore_label is None else ignore_label
            label_array = _create(group, LABELS, (nil, nxl, ns), chunks, LABEL_DTYPE, fill)
        stats = _stream(scan, amplitude, label_source, label_array, ignore_label)
        group.attrs.update(stats)
        if label_source is not None:
            group.attrs.update({"ignore_label": ignore_label, "labels_source": str(labels)})
        if names is not None:
            group.attrs["class_names"] = names
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote survey store %s", out)
    return out


def _create(group, name, shape, chunks, dtype, fill) -> zarr.Array:
    return group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=fill,
        dimension_names=list(DIMS),
        compressors=None,
    )


def _stream(scan, amplitude, label_source, label_array, ignore_label) -> dict[str, Any]:
    """Copy the survey block by block; the write of one block overlaps the next read."""
    blocks = InlineBlocks(scan, align=LATERAL_CHUNK)
    nxl, ns = scan.grid.shape[1], scan.layout.samples_per_trace
    buffers = [np.empty((blocks.block_inlines, nxl, ns), dtype=np.float32) for _ in range(2)]
    live = scan.grid.live_mask()
    every = max(1, int(live.sum()) // STAT_TRACES)
    sampled: list[np.ndarray] = []
    counts = ClassCounts(ignore_label)
    pending: Future | None = None
    with (
        ThreadPoolExecutor(max_workers=1) as writer,
        progress(scan, scan.grid.shape[0], "ingest") as bar,
    ):
        for k, (start, stop) in enumerate(blocks.ranges()):
            block = blocks.read(start, stop, out=buffers[k % 2])
            sampled.append(block[live[start:stop]][::every].copy())
            if label_array is not None:
                labels = label_source.read(start, stop)
                if ignore_label is not None:
                    labels[~live[start:stop]] = ignore_label
                counts.add(labels[live[start:stop]])
                label_array[start:stop] = labels
            if pending is not None:
                pending.result()
            pending = writer.submit(amplitude.__setitem__, slice(start, stop), block)
            bar.update(stop - start)
        if pending is not None:
            pending.result()
    values = np.concatenate(sampled).ravel() if sampled else np.zeros(1, np.float32)
    percentiles = np.percentile(values, PERCENTILES)
    stats: dict[str, Any] = {
        "amplitude_percentiles": {
            str(p): float(v) for p, v in zip(PERCENTILES, percentiles, strict=True)
        }
    }
    if label_array is not None:
        stats["class_counts"] = counts.counts.tolist()
    return stats


class ClassCounts:
    """Running count of samples per class id, leaving out the ignore value."""

    def __init__(self, ignore_label: int | None) -> None:
        self.ignore_label = ignore_label
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, labels: np.ndarray) -> None:
        if self.ignore_label is not None:
            labels = labels[labels != self.ignore_label]
        if labels.size and labels.min() < 0:
            raise OptionError(
                f"labels hold negative class ids ({labels.min()}); set {{key}} to the "
                "value that marks unlabelled samples.",
                option="ignore_label",
            )
        new = np.bincount(labels.ravel())
        size = max(len(self.counts), len(new))
        self.counts = np.pad(self.counts, (0, size - len(self.counts)))
        self.counts[: len(new)] += new


def _replace(tmp: Path, out: Path) -> None:
    if out.exists():
        trash = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(out, trash)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)


def open_survey(store: str | os.PathLike) -> xr.Dataset:
    """Open a survey store lazily: sections are read from disk when indexed."""
    path = Path(store)
    if not (path / "zarr.json").exists() and not (path / ".zgroup").exists():
        raise FaciesError(
            f"{path} is not a survey store; create one with `facies ingest input=survey.sgy`."
        )
    return xr.open_zarr(path, consolidated=False, chunks=None)
