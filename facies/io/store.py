"""The survey store: a chunked zarr copy of a survey that training and inference read.

``ingest_segy`` streams a SEG-Y file into the store a block of inlines at a time and
writes it atomically: into a temporary folder beside the target
(:mod:`facies.io.store_target`), renamed into place only when complete. Peak memory is
bounded by two blocks (the write of one overlaps the read of the next) and one mapped
span of the file, whatever the file's trace order (:func:`facies.io.segy.reader.
mapped_traces`).

The layout (:mod:`facies.io.store_layout`, store format 3): the cubes are chunked one
inline by every crossline by a tenth of the samples (an inline section is ten chunk
files, a time slice reads a tenth of the cube), and a copy of them chunked a block of
inlines by one crossline by the whole trace lies in the group ``crossline_sections``
(a crossline section is a few chunk files; :func:`open_crossline_sections`). The chunk
shapes are in the zarr metadata (``survey[AMPLITUDE].encoding["chunks"]``).

A store knows what it was made from and that it is whole:

- its record (attribute ``facies_store``, :func:`store_record`,
  :mod:`facies.io.store_record`): a cached store is reused only when its record is the
  one the current inputs and options give;
- its manifest (attribute ``facies_manifest``, :mod:`facies.io.store_check`): the
  chunk files of each array; :func:`open_survey` refuses a store that lost any
  (:class:`IncompleteStoreError`).

Its metadata is consolidated into the root ``zarr.json``: opening reads one file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.errors import FaciesError, OptionError
from facies.io import outputs
from facies.io.fingerprint import FingerprintCache
from facies.io.inline_blocks import InlineBlocks
from facies.io.labels import (
    LABEL_DTYPE,
    LabelSource,
    check_class_names,
    check_ignore_label,
    check_labels,
    load_class_names,
)
from facies.io.segy.reader import mapped_traces, progress, settle_live, survey_coordinates
from facies.io.segy.scan import scan_segy
from facies.io.store_check import (  # noqa: F401  (public names of facies.io.store)
    MANIFEST,
    METADATA_FILES,
    REQUIRED_ARRAYS,
    IncompleteStoreError,
    check_complete,
    chunk_census,
)
from facies.io.store_layout import (  # noqa: F401
    CROSSLINE_GROUP,
    LATERAL_CHUNK,
    SAMPLE_CHUNK,
    ChunkWriter,
    create_crossline_group,
    create_cube,
    crossline_chunk_inlines,
    legacy_encoding,
    open_crossline_sections,
    section_chunks,
    section_encoding,
)
from facies.io.store_record import (  # noqa: F401
    CONTENT_NEUTRAL,
    JSON_ATTRS,
    RECORD_TRACES,
    STORE_FORMAT,
    STORE_RECORD,
    _file_checksum,
    decode_attrs,
    encode_attrs,
    read_record,
    record_differences,
    record_digest,
    segy_record_options,
    store_attrs,
    store_record,
)
from facies.io.store_target import (
    OWNER_FILE,
    _check_target,
    _claim,
    _clear_leftovers,
)
from facies.io.survey_qc import TraceQc, nonfinite_warning
from facies.names import AMPLITUDE, CROSSLINE, INLINE, LABELS, LIVE

log = logging.getLogger(__name__)

#: The trace headers (inline, crossline, TRACE_HEADER_BYTE) of every grid cell.
TRACE_HEADER = "trace_header"
TRACE_HEADER_BYTE = "trace_header_byte"
TRACE_HEADER_SIZE = 240
#: The zarr creation of a cube, and the coordinates' chunks of the 32 x 32 layout, under
#: the names :mod:`facies.io.datasets` imports.
_create = create_cube
_chunk_encoding = legacy_encoding


def ingest_segy(
    segy: str | os.PathLike,
    out: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    ignore_label: int | None = None,
    class_names: str | os.PathLike | list[str] | None = None,
    overwrite: bool = False,
    fingerprints: FingerprintCache | None = None,
    record: dict[str, Any] | None = None,
    **segy_options: Any,
) -> Path:
    """Write a SEG-Y survey (and optional labels) to a zarr survey store.

    Args:
        segy: the seismic SEG-Y file.
        out: the store folder to create (``*.zarr``).
        labels: a SEG-Y file with the same geometry, or a .npy (inline, crossline,
            sample) array of class ids.
        ignore_label: the label value of unlabelled samples (ignored by training and
            metrics); traces that are not live get it too (0 where it is None).
        class_names: names of the classes, as a list or a JSON file holding one.
        overwrite: replace an existing store, if it is a facies survey store (never
            an input of the run or a folder holding one: :mod:`facies.io.outputs`).
        fingerprints: the run's SEG-Y fingerprints (read each file's headers once).
        record: the store record :func:`store_record` gives for these same arguments,
            where the caller has it already (None computes it).
        **segy_options: how to read the SEG-Y files (``iline``, ``xline``, ...: the
            names in :data:`facies.io.segy.options.SEGY_OPTIONS`, a job's ``segy.*``).

    Traces that are not live (missing, flagged dead, all-zero unless the ``zero_traces``
    option keeps them live) are stored as zeros with ``live`` False; the QC counts
    (store attributes, :func:`facies.io.survey_qc.survey_qc`) say how many of each, and
    how many non-finite samples the live traces hold (kept as they are). Labels are
    checked (:func:`facies.io.labels.check_labels`) before anything is written.
    """
    started = time.time()
    out = _check_target(out, overwrite, (segy, labels, class_names))
    _clear_leftovers(out, started)
    scan = scan_segy(segy, **segy_options)
    names = load_class_names(class_names)
    check_class_names(names)
    check_ignore_label(ignore_label, names)
    label_source = LabelSource(labels, scan, **segy_options) if labels else None
    if label_source is not None:
        ids = label_source.class_ids(scan.grid.live_mask())
        check_labels(ids, names, ignore_label, str(labels))
    nil, nxl = scan.grid.shape
    ns = scan.layout.samples_per_trace
    outputs.check_space(out.parent, nil * nxl * ns * (6 if labels else 4), path=out)
    if record is None:
        record = store_record(
            segy, labels=labels, ignore_label=ignore_label, class_names=names,
            fingerprints=fingerprints, **segy_options,
        )  # fmt: skip
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        meta = survey_coordinates(scan)
        meta.to_zarr(tmp, mode="w", consolidated=False, encoding=section_encoding(meta, nxl, ns))
        _claim(tmp)
        group = zarr.open_group(tmp, mode="a")
        across = create_crossline_group(tmp, meta)
        inlines = crossline_chunk_inlines(nil, nxl, ns)
        fill = 0 if ignore_label is None else ignore_label
        cubes = {}
        for name, dtype, value in [(AMPLITUDE, np.float32, 0.0), (LABELS, LABEL_DTYPE, fill)]:
            if name == LABELS and label_source is None:
                continue
            shape = (nil, nxl, ns)
            cubes[name] = [
                create_cube(group, name, shape, section_chunks(nxl, ns), dtype, value),
                create_cube(across, name, shape, (inlines, 1, ns), dtype, value),
            ]
        headers = _create_trace_headers(group, nil, nxl)
        blocks = InlineBlocks(scan, align=inlines, block_bytes=inlines * nxl * ns * 4)
        stats, live = _stream(scan, blocks, cubes, label_source, ignore_label, headers)
        # every chunk of the live mask is written, all-False ones too (check_complete)
        group[LIVE].with_config({"write_empty_chunks": True})[...] = live
        group.attrs.update(stats)
        group.attrs.update(file_headers(scan.layout))
        if label_source is not None:
            group.attrs.update({"ignore_label": ignore_label, "labels_source": str(labels)})
            flags = class_flags(names, len(stats["class_counts"]))
            for array in cubes[LABELS]:
                array.attrs.update(flags)
        if names is not None:
            group.attrs["class_names"] = names
        group.attrs["qc"] = _survey_qc(tmp)
        _replace(tmp, out, record)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and err.errno in outputs.DISK_FULL:
            raise outputs.output_error(err, out) from None
        raise
    if stats["nonfinite_samples"]:
        log.warning("%s: %s", segy, nonfinite_warning(**stats))
    log.info("wrote survey store %s", out)
    return out


def _create_trace_headers(group, nil: int, nxl: int) -> zarr.Array:
    """The (inline, crossline, 240) uint8 array of each cell's SEG-Y trace header (zeros
    where no trace lies): what a SEG-Y writer needs when the source file has moved.
    Compressed (headers are mostly zeros), unlike the cubes."""
    return group.create_array(
        TRACE_HEADER,
        shape=(nil, nxl, TRACE_HEADER_SIZE),
        chunks=(1, nxl, TRACE_HEADER_SIZE),
        dtype=np.uint8,
        fill_value=0,
        dimension_names=[INLINE, CROSSLINE, TRACE_HEADER_BYTE],
        attributes={"long_name": "SEG-Y trace header, 240 bytes as in the source file"},
    )


def _header_block(scan, blocks: InlineBlocks, start: int, stop: int) -> np.ndarray:
    """The trace headers of inline indices ``start:stop`` as (inlines, crosslines, 240)."""
    grid = scan.grid
    nxl = grid.shape[1]
    out = np.zeros((stop - start, nxl, TRACE_HEADER_SIZE), dtype=np.uint8)
    lo, hi = np.searchsorted(blocks.sorted_il, [start, stop])
    picks = np.sort(blocks.order[lo:hi])  # positions in grid.traces, in file order
    traces = grid.traces[picks]
    flat = (grid.il_index[picks] - start) * nxl + grid.xl_index[picks]
    for rows, records in mapped_traces(scan, traces):
        out.reshape(-1, TRACE_HEADER_SIZE)[flat[rows]] = records["header"]
        del records
    return out


def file_headers(layout) -> dict[str, str]:
    """The SEG-Y file's textual, binary and extended textual headers, byte for byte, as
    hex strings (store attributes: ``bytes.fromhex(ds.attrs["segy_binary_header"])``)."""
    with open(layout.path, "rb") as fh:
        head = fh.read(layout.first_trace_offset)
    attrs = {"segy_textual_header": head[:3200].hex(), "segy_binary_header": head[3200:3600].hex()}
    if len(head) > 3600:
        attrs["segy_extended_textual_headers"] = head[3600:].hex()
    return attrs


def class_flags(names: list[str] | None, count: int) -> dict[str, Any]:
    """CF ``flag_values``/``flag_meanings`` of the class ids (names with spaces as ``_``)."""
    count = max(count, len(names or []))
    words = [
        (names[k] if names and k < len(names) else f"class_{k}").strip().replace(" ", "_")
        for k in range(count)
    ]
    return {"flag_values": list(range(count)), "flag_meanings": " ".join(words)}


def _survey_qc(store: Path) -> dict[str, Any]:
    from facies.io.survey_qc import survey_qc

    with (
        _quiet_zarr(),
        xr.open_dataset(store, engine="zarr", consolidated=False, chunks=None) as survey,
    ):
        return survey_qc(survey)


@contextlib.contextmanager
def _quiet_zarr():
    """Without zarr's warnings about the owner file of a store being written (no zarr
    node) and consolidated metadata (not in the zarr 3 specification yet)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*is not recognized as a component", UserWarning)
        warnings.filterwarnings("ignore", "Consolidated metadata is currently", UserWarning)
        yield


def _stream(
    scan, blocks: InlineBlocks, cubes: dict[str, list], label_source, ignore_label, headers=None
) -> tuple[dict[str, Any], np.ndarray]:
    """Copy the survey block by block into both copies of each cube (``cubes``: name ->
    [root array, crossline copy]); the write of one block overlaps the next read.

    Returns the QC counts (store attributes) and the live mask, which the samples settle
    (all-zero traces).
    """
    nxl, ns = scan.grid.shape[1], scan.layout.samples_per_trace
    buffers = [np.empty((blocks.block_inlines, nxl, ns), dtype=np.float32) for _ in range(2)]
    writers = {name: [ChunkWriter(a) for a in arrays] for name, arrays in cubes.items()}
    header_live = scan.grid.live_mask()
    live = header_live.copy()
    qc = TraceQc(int(header_live.sum()))
    counts = ClassCounts(ignore_label)
    pending: Future | None = None
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        progress(scan, scan.grid.shape[0], "ingest") as bar,
    ):
        for k, (start, stop) in enumerate(blocks.ranges()):
            block = blocks.read(start, stop, out=buffers[k % 2])
            here, zero = settle_live(block, header_live[start:stop], scan.zero_traces_dead)
            live[start:stop] = here
            qc.add(block, here, zero)
            if LABELS in writers:
                labels = label_source.read(start, stop)
                labels[~here] = 0 if ignore_label is None else ignore_label
                counts.add(labels[here])
                for writer in writers[LABELS]:
                    writer.write(start, labels)
            if pending is not None:
                pending.result()
            pending = pool.submit(_write_both, writers[AMPLITUDE], start, block)
            if headers is not None:
                headers[start:stop] = _header_block(scan, blocks, start, stop)
            bar.update(stop - start)
        if pending is not None:
            pending.result()
    stats = qc.stats(scan.grid.cells)
    if LABELS in writers:
        stats["class_counts"] = counts.counts.tolist()
    return stats, live


def _write_both(writers: list[ChunkWriter], start: int, block: np.ndarray) -> None:
    for writer in writers:
        writer.write(start, block)


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


def _replace(tmp: Path, out: Path, record: dict[str, Any] | None = None) -> None:
    """Seal the complete temporary store (record, manifest) and put it at ``out``; an
    existing store there (a facies store, checked before the work) is deleted first,
    never moved aside."""
    group = zarr.open_group(tmp, mode="a")
    if record is not None:
        group.attrs[STORE_RECORD] = record
    group.attrs[MANIFEST] = {"format": STORE_FORMAT, "arrays": chunk_census(tmp)}
    with _quiet_zarr():
        for node in [group, *(array for _, array in group.arrays())]:
            plain = dict(node.attrs)
            encoded = encode_attrs(plain)
            if encoded != plain:
                node.attrs.clear()
                node.attrs.update(encoded)
        zarr.consolidate_metadata(tmp)  # xr.open_zarr reads one file, and warns of none
    (tmp / OWNER_FILE).unlink(missing_ok=True)
    outputs.replace_with(tmp, out)


def open_survey(store: str | os.PathLike) -> xr.Dataset:
    """Open a survey store lazily: sections are read from disk when indexed.

    The store is checked to be whole first (:func:`check_complete`: a directory walk, no
    chunk data read), and opened without xarray's cache, so reading it block by block
    never leaves whole arrays in memory.

    Raises:
        FaciesError: ``store`` is no survey store.
        IncompleteStoreError: the store lost chunks (an interrupted copy).
    """
    path = Path(store)
    if not (path / "zarr.json").exists() and not (path / ".zgroup").exists():
        if not path.exists():
            raise FaciesError(
                f"survey store {path} does not exist; create it with "
                "`facies ingest input=survey.sgy output=<store>`."
            )
        raise FaciesError(
            f"{path} is not a survey store; create one with `facies ingest input=survey.sgy`."
        )
    attrs = outputs.store_attributes(path) or {}
    legacy = MANIFEST not in attrs
    if not legacy:
        check_complete(path)
    try:
        survey = xr.open_dataset(
            path,
            engine="zarr",
            consolidated=not legacy and _consolidated(path),  # legacy: what is on disk
            chunks=None,
            cache=False,
        )
    except (KeyError, ValueError, OSError) as err:
        raise IncompleteStoreError(
            f"survey store {path} cannot be opened ({err}); ingest it again with facies "
            "ingest, or copy it again whole."
        ) from None
    if legacy:
        live = np.asarray(survey[LIVE].values) if LIVE in survey else None
        check_complete(path, live=live)
    survey.attrs = decode_attrs(survey.attrs)
    return survey


def _consolidated(path: Path) -> bool:
    """Whether the store's root metadata holds its arrays' (one file read to open it)."""
    for name in ("zarr.json", ".zmetadata"):
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads((path / name).read_text())
            return bool(meta.get("consolidated_metadata") or meta.get("metadata"))
    return False
