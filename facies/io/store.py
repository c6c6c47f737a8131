"""The survey store: a chunked zarr copy of a survey that training and inference read.

``ingest_segy`` streams a SEG-Y file into the store a block of inlines at a time
through :class:`facies.io.store_writer.SurveyStoreWriter` (the path every ingest
takes): into a temporary folder beside the target (:mod:`facies.io.store_target`),
renamed into place only when complete. Peak memory is bounded by two blocks (the write
of one overlaps the read of the next) and one mapped span of the file, whatever the
file's trace order (:func:`facies.io.segy.reader.mapped_traces`); each trace's samples
and header are read in one pass.

The layout (:mod:`facies.io.store_layout`, store format 3): the cubes are chunked one
inline by every crossline by a tenth of the samples, an inline a file (an inline section
reads one file, a time slice a tenth of the cube), and a copy of them chunked by
crossline (every inline, the whole trace) lies in the group ``crossline_sections`` (a
crossline section is one file; :func:`open_crossline_sections`). The chunk shapes are
in the zarr metadata (``survey[AMPLITUDE].encoding["chunks"]``).

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
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from facies.errors import FaciesError
from facies.io import outputs
from facies.io.fingerprint import FingerprintCache
from facies.io.inline_blocks import InlineBlocks
from facies.io.labels import (
    LabelSource,
    check_class_names,
    check_ignore_label,
    check_labels,
    load_class_names,
)
from facies.io.segy import reader
from facies.io.segy.reader import (
    progress,
    settle_live,
    survey_coordinates,
)
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
    CHUNK_KEYS,
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
    decode_attrs,
    encode_attrs,
    read_record,
    record_differences,
    record_digest,
    segy_record_options,
    store_attrs,
    store_record,
)
from facies.io.store_target import OWNER_FILE, check_target, clear_leftovers  # noqa: F401
from facies.io.store_writer import (  # noqa: F401
    ClassCounts,
    SurveyStoreWriter,
    class_flags,
)
from facies.io.survey_qc import TraceQc, nonfinite_warning
from facies.names import CROSSLINE, INLINE, LIVE

log = logging.getLogger(__name__)

#: The trace headers (inline, crossline, TRACE_HEADER_BYTE) of every grid cell.
TRACE_HEADER = "trace_header"
TRACE_HEADER_BYTE = "trace_header_byte"
TRACE_HEADER_SIZE = 240


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
    out = check_target(out, overwrite, (segy, labels, class_names))
    clear_leftovers(out, started)
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
    # both copies of the cubes (the section layout: facies.io.store_layout)
    outputs.check_space(out.parent, 2 * nil * nxl * ns * (6 if labels else 4), path=out)
    if record is None:
        record = store_record(
            segy, labels=labels, ignore_label=ignore_label, class_names=names,
            fingerprints=fingerprints, **segy_options,
        )  # fmt: skip
    meta = survey_coordinates(scan)
    has_labels = label_source is not None
    with SurveyStoreWriter(
        out, meta, has_labels=has_labels, ignore_label=ignore_label, record=record
    ) as writer:
        stats, live = _stream(scan, writer, label_source)
        stats.update(file_headers(scan.layout))
        writer.finish(live, stats, names, str(labels) if has_labels else None)
    if stats["nonfinite_samples"]:
        log.warning("%s: %s", segy, nonfinite_warning(**stats))
    log.info("wrote survey store %s", out)
    return out


def _create_trace_headers(group, nil: int, nxl: int, block: int) -> ChunkWriter:
    """The (inline, crossline, 240) uint8 array of each cell's SEG-Y trace header (zeros
    where no trace lies): what a SEG-Y writer needs when the source file has moved.
    Compressed (headers are mostly zeros), unlike the cubes; chunked by inline, a shard
    (one file) an ingest block of ``block`` inlines. Returns its writer."""
    array = group.create_array(
        TRACE_HEADER,
        shape=(nil, nxl, TRACE_HEADER_SIZE),
        chunks=(1, nxl, TRACE_HEADER_SIZE),
        shards=(block, nxl, TRACE_HEADER_SIZE),
        dtype=np.uint8,
        fill_value=0,
        dimension_names=[INLINE, CROSSLINE, TRACE_HEADER_BYTE],
        attributes={"long_name": "SEG-Y trace header, 240 bytes as in the source file"},
        chunk_key_encoding=CHUNK_KEYS,
    )
    return ChunkWriter(array)


def file_headers(layout) -> dict[str, str]:
    """The SEG-Y file's textual, binary and extended textual headers, byte for byte, as
    hex strings (store attributes: ``bytes.fromhex(ds.attrs["segy_binary_header"])``)."""
    with open(layout.path, "rb") as fh:
        head = fh.read(layout.first_trace_offset)
    attrs = {"segy_textual_header": head[:3200].hex(), "segy_binary_header": head[3200:3600].hex()}
    if len(head) > 3600:
        attrs["segy_extended_textual_headers"] = head[3600:].hex()
    return attrs


def _stream(scan, writer: SurveyStoreWriter, label_source):
    """Copy the survey block by block through ``writer`` (its write of one block
    overlaps the read of the next). Returns the QC counts (store attributes) and the
    live mask, which the samples settle (all-zero traces)."""
    nxl, ns = scan.grid.shape[1], scan.layout.samples_per_trace
    blocks = InlineBlocks(scan, block_bytes=reader.BLOCK_BYTES // 2)  # two are held
    headers = _create_trace_headers(writer.group, *scan.grid.shape, blocks.block_inlines)
    buffers = [np.empty((blocks.block_inlines, nxl, ns), dtype=np.float32) for _ in range(2)]
    cells = [np.empty((blocks.block_inlines, nxl, TRACE_HEADER_SIZE), np.uint8) for _ in range(2)]
    header_live = scan.grid.live_mask()
    live = header_live.copy()
    qc = TraceQc(int(header_live.sum()))
    with progress(scan, scan.grid.shape[0], "ingest", unit="inline") as bar:
        for k, (start, stop) in enumerate(blocks.ranges()):
            block = blocks.read(start, stop, out=buffers[k % 2], headers=cells[k % 2])
            here, zero = settle_live(block, header_live[start:stop], scan.zero_traces_dead)
            live[start:stop] = here
            qc.add(block, here, zero)
            labels = label_source.read(start, stop) if label_source is not None else None
            writer.write(start, block, here, labels)
            headers.write(start, cells[k % 2][: stop - start])
            bar.update(stop - start)
    return qc.stats(scan.grid.cells), live


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
