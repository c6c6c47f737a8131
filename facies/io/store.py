"""The survey store: a chunked zarr copy of a survey that training and inference read.

``ingest_segy`` streams a SEG-Y file into the store a block of inlines at a time
(peak memory bounded by the block) and writes it atomically: into a temporary
folder beside the target, renamed into place only when complete.

A store knows what it was made from and that it is whole:

- its record (attribute ``facies_store``, :func:`store_record`): the fingerprints of
  the SEG-Y file and of the labels, the SEG-Y reading options, ``ignore_label``, the
  class names and the store format. A cached store is reused only when its record is
  the one the current inputs and options give (:mod:`facies.sources.survey`).
- its manifest (attribute ``facies_manifest``): the number and total size of the chunk
  files of each array, taken when the ingest ended. :func:`open_survey` counts them
  again (a directory walk, no data read) and refuses a store that lost any
  (:class:`IncompleteStoreError`). Stores written before the manifest existed are
  checked against their arrays' shapes instead (:func:`check_complete`).

Where a store is written follows :mod:`facies.io.outputs`: never over an input,
``overwrite`` replaces only a facies store, deleted once the new one is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import math
import os
import shutil
import socket
import time
import uuid
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.errors import FaciesError, OptionError, OutputError
from facies.io import outputs
from facies.io.fingerprint import FingerprintCache, fingerprint
from facies.io.inline_blocks import InlineBlocks
from facies.io.labels import (
    LABEL_DTYPE,
    LabelSource,
    check_class_names,
    check_ignore_label,
    check_labels,
    load_class_names,
)
from facies.io.segy.reader import progress, settle_live, survey_coordinates
from facies.io.segy.scan import scan_segy
from facies.io.survey_qc import TraceQc, nonfinite_warning
from facies.names import AMPLITUDE, CROSSLINE, DIMS, INLINE, LABELS, LIVE, SAMPLE

log = logging.getLogger(__name__)

#: Chunk edge along inline and crossline; samples are chunked by SAMPLE_CHUNK.
LATERAL_CHUNK = 32
SAMPLE_CHUNK = 1024
#: The trace headers (inline, crossline, TRACE_HEADER_BYTE) of every grid cell.
TRACE_HEADER = "trace_header"
TRACE_HEADER_BYTE = "trace_header_byte"
TRACE_HEADER_SIZE = 240
#: Attribute naming the attributes stored as JSON text (netCDF takes no mapping or null).
JSON_ATTRS = "facies_json_attrs"


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
        meta.to_zarr(tmp, mode="w", consolidated=False, encoding=_chunk_encoding(meta, ns))
        _claim(tmp)
        group = zarr.open_group(tmp, mode="a")
        chunks = (LATERAL_CHUNK, LATERAL_CHUNK, min(ns, SAMPLE_CHUNK))
        amplitude = _create(group, AMPLITUDE, (nil, nxl, ns), chunks, np.float32, 0.0)
        label_array = None
        if label_source is not None:
            fill = 0 if ignore_label is None else ignore_label
            label_array = _create(group, LABELS, (nil, nxl, ns), chunks, LABEL_DTYPE, fill)
        headers = _create_trace_headers(group, nil, nxl)
        stats, live = _stream(scan, amplitude, label_source, label_array, ignore_label, headers)
        # every chunk of the live mask is written, all-False ones too (check_complete)
        group[LIVE].with_config({"write_empty_chunks": True})[...] = live
        group.attrs.update(stats)
        group.attrs.update(file_headers(scan.layout))
        if label_source is not None:
            group.attrs.update({"ignore_label": ignore_label, "labels_source": str(labels)})
            label_array.attrs.update(class_flags(names, len(stats["class_counts"])))
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


def _chunk_encoding(meta: xr.Dataset, ns: int) -> dict[str, dict[str, Any]]:
    """Chunks of the coordinates and the live mask that match the cubes' along each
    shared dimension, so ``xr.open_zarr(store).chunks`` is one chunking per dimension."""
    edge = {INLINE: LATERAL_CHUNK, CROSSLINE: LATERAL_CHUNK, SAMPLE: min(ns, SAMPLE_CHUNK)}
    return {
        name: {"chunks": tuple(min(edge.get(d, n), n) for d, n in var.sizes.items())}
        for name, var in meta.variables.items()
        if name not in meta.dims
    }


def _create_trace_headers(group, nil: int, nxl: int) -> zarr.Array:
    """The (inline, crossline, 240) uint8 array of each cell's SEG-Y trace header (zeros
    where no trace lies): what a SEG-Y writer needs when the source file has moved.
    Compressed (headers are mostly zeros), unlike the cubes."""
    return group.create_array(
        TRACE_HEADER,
        shape=(nil, nxl, TRACE_HEADER_SIZE),
        chunks=(LATERAL_CHUNK, LATERAL_CHUNK, TRACE_HEADER_SIZE),
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
    picks = np.sort(blocks.order[lo:hi])
    if len(picks):
        traces = grid.traces[picks]
        first, last = int(traces.min()), int(traces.max()) + 1
        records = scan.records(first, last)
        flat = (grid.il_index[picks] - start) * nxl + grid.xl_index[picks]
        out.reshape(-1, TRACE_HEADER_SIZE)[flat] = records["header"][traces - first]
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
    scan, amplitude, label_source, label_array, ignore_label, headers=None
) -> tuple[dict[str, Any], np.ndarray]:
    """Copy the survey block by block; the write of one block overlaps the next read.

    Returns the QC counts (store attributes) and the live mask, which the samples settle
    (all-zero traces).
    """
    blocks = InlineBlocks(scan, align=LATERAL_CHUNK)
    nxl, ns = scan.grid.shape[1], scan.layout.samples_per_trace
    buffers = [np.empty((blocks.block_inlines, nxl, ns), dtype=np.float32) for _ in range(2)]
    header_live = scan.grid.live_mask()
    live = header_live.copy()
    qc = TraceQc(int(header_live.sum()))
    counts = ClassCounts(ignore_label)
    pending: Future | None = None
    with (
        ThreadPoolExecutor(max_workers=1) as writer,
        progress(scan, scan.grid.shape[0], "ingest") as bar,
    ):
        for k, (start, stop) in enumerate(blocks.ranges()):
            block = blocks.read(start, stop, out=buffers[k % 2])
            here, zero = settle_live(block, header_live[start:stop], scan.zero_traces_dead)
            live[start:stop] = here
            qc.add(block, here, zero)
            if label_array is not None:
                labels = label_source.read(start, stop)
                labels[~here] = 0 if ignore_label is None else ignore_label
                counts.add(labels[here])
                label_array[start:stop] = labels
            if pending is not None:
                pending.result()
            pending = writer.submit(amplitude.__setitem__, slice(start, stop), block)
            if headers is not None:
                headers[start:stop] = _header_block(scan, blocks, start, stop)
            bar.update(stop - start)
        if pending is not None:
            pending.result()
    stats = qc.stats(scan.grid.cells)
    if label_array is not None:
        stats["class_counts"] = counts.counts.tolist()
    return stats, live


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


# ------------------------------------------------------------------ where the store goes

#: The store format: 2 added the record and the manifest. Stores without them (format 1)
#: still open, checked against their arrays' shapes.
STORE_FORMAT = 2
#: Store attributes: what the store was made from, and its chunk files when complete.
STORE_RECORD = outputs.SURVEY_STORE_MARK
MANIFEST = "facies_manifest"
#: SEG-Y options that do not change what a store holds (a refusal threshold): left out
#: of the record, so changing them does not make a store anew.
CONTENT_NEUTRAL = frozenset({"min_live_fraction"})
#: Traces whose samples the record's checksum covers (spread over the file): an
#: amplitude-only change (reprocessing with the same headers) shows there.
RECORD_TRACES = 256
#: Written into a temporary store while an ingest writes it: who writes it.
OWNER_FILE = ".facies-ingest.json"
#: Arrays every survey store holds.
REQUIRED_ARRAYS = (AMPLITUDE, LIVE, INLINE, CROSSLINE, SAMPLE)
METADATA_FILES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"})


class IncompleteStoreError(FaciesError):
    """A survey store lacks chunks or arrays it was written with (a copy cut short)."""


def _check_target(out: str | os.PathLike, overwrite: bool, inputs: tuple) -> Path:
    """The output rule for a survey store (:func:`facies.io.outputs.prepare_output`)."""
    paths = [p for p in inputs if isinstance(p, str | os.PathLike)]
    return outputs.prepare_output(
        out, kind=outputs.STORE, overwrite=overwrite, inputs=paths, replaceable="survey store"
    )


def _claim(tmp: Path) -> None:
    """Say in a temporary store who writes it, so a later ingest can tell a killed run's
    leftover (removed) from a store another run is writing now (refused)."""
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    (tmp / OWNER_FILE).write_text(json.dumps(owner))


def _running(pid: int, started: float) -> bool:
    """Whether process ``pid`` of this machine is alive and began before ``started``
    (a pid reused by a later process does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but not ours to signal
        pass
    began = _process_start(pid)
    return began is None or began <= started + 1


def _process_start(pid: int) -> float | None:
    """When process ``pid`` began (seconds since the epoch), from /proc; None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _clear_leftovers(out: Path, started: float) -> None:
    """Remove the temporary stores of killed ingests of ``out``; refuse to write while
    another ingest writes ``out``; report leftovers that cannot be told apart."""
    for tmp in outputs.temporaries(out):
        owner = None
        with contextlib.suppress(OSError, ValueError):
            owner = json.loads((tmp / OWNER_FILE).read_text())
        ours = isinstance(owner, dict) and owner.get("host") == socket.gethostname()
        if ours and _running(int(owner.get("pid", 0)), float(owner.get("started", 0))):
            raise OutputError(
                f"output={out}: another facies ingest (process {owner['pid']}) is writing it "
                f"now ({tmp.name}); wait for it to end, or stop it, then ingest again."
            )
        if tmp.is_dir() and (ours or (owner is None and tmp.stat().st_mtime < started)):
            log.info("removing %s, left by an ingest that was killed", tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        log.warning(
            "%s was left beside %s by an interrupted write (on %s); remove it when no facies "
            "job writes %s.",
            tmp, out, (owner or {}).get("host", "an unknown machine"), out,
        )  # fmt: skip


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


def encode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes that netCDF (``to_netcdf``) takes: mappings, nulls and lists of anything
    but numbers become JSON text, named in :data:`JSON_ATTRS` (:func:`decode_attrs`)."""
    out, encoded = {}, []
    for key, value in attrs.items():
        if key == JSON_ATTRS:
            continue
        plain = isinstance(value, str | bool | int | float) or (
            isinstance(value, list)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        )
        if plain:
            out[key] = value
        else:
            out[key] = json.dumps(value, separators=(",", ":"))
            encoded.append(key)
    if encoded:
        out[JSON_ATTRS] = " ".join(encoded)
    return out


def decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes as facies wrote them: the JSON text :func:`encode_attrs` made, decoded."""
    names = attrs.get(JSON_ATTRS)
    if not isinstance(names, str):
        return dict(attrs)
    out = {k: v for k, v in attrs.items() if k != JSON_ATTRS}
    for key in names.split():
        if isinstance(out.get(key), str):
            with contextlib.suppress(ValueError):
                out[key] = json.loads(out[key])
    return out


def store_attrs(store: str | os.PathLike) -> dict[str, Any]:
    """A store's attributes, decoded (:func:`decode_attrs`); empty for no zarr group."""
    return decode_attrs(outputs.store_attributes(store) or {})


# ------------------------------------------------------------------ what a store is made of


def segy_record_options(options: dict[str, Any]) -> dict[str, Any]:
    """Every SEG-Y option that changes what a store holds, with the readers' defaults
    filled in (so ``segy.iline=189`` and no ``segy.iline`` record the same)."""
    params = inspect.signature(scan_segy).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise OptionError(
            f"unknown SEG-Y option(s) {', '.join(unknown)} for {{key}}.", option="segy"
        )
    return {
        name: options.get(name, param.default)
        for name, param in params.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY and name not in CONTENT_NEUTRAL
    }


def _file_checksum(path: Path, chunk: int = 16 << 20) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return f"blake2b:{digest.hexdigest()}"


def _sampled_traces(path: Path) -> str | None:
    """Checksum of ``RECORD_TRACES`` whole traces spread over a SEG-Y file (None if it
    cannot be laid out): what the header fingerprint does not cover, sampled."""
    from facies.io.segy.layout import read_layout

    try:
        layout = read_layout(path)
    except Exception:  # not SEG-Y we can read: the scan says why
        return None
    count = layout.trace_count
    picks = np.unique(np.linspace(0, count - 1, min(count, RECORD_TRACES)).astype(np.int64))
    digest = hashlib.blake2b(digest_size=20)
    with open(layout.path, "rb") as fh:
        for k in picks:
            fh.seek(layout.first_trace_offset + int(k) * layout.trace_size)
            digest.update(fh.read(layout.trace_size))
    return f"blake2b:{digest.hexdigest()}"


def store_record(
    segy: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    ignore_label: int | None = None,
    class_names: str | os.PathLike | list[str] | None = None,
    fingerprints: FingerprintCache | None = None,
    **segy_options: Any,
) -> dict[str, Any]:
    """What a store made from these inputs and options holds, as its record says it.

    - ``seismic``: the SEG-Y fingerprint (:func:`facies.io.fingerprint.fingerprint`:
      size, file and trace headers) and a checksum of 256 whole traces spread over it;
    - ``labels``: size and a checksum of every byte (an interpreter's edit shows);
    - ``segy``: the reading options (:func:`segy_record_options`);
    - ``ignore_label``, ``class_names`` (the names, read from their JSON file), and
      ``format`` (:data:`STORE_FORMAT`).

    Paths are left out: the same file reached by another path (or copied) is the same
    survey. Two stores with equal records hold the same survey.
    """
    seismic = fingerprint(segy, fingerprints)
    seismic.pop("path", None)
    seismic["sampled_traces"] = _sampled_traces(Path(segy))
    label_record = None
    if labels:
        path = Path(labels)
        label_record = {"size": path.stat().st_size, "checksum": _file_checksum(path)}
    return json.loads(
        json.dumps(
            {
                "format": STORE_FORMAT,
                "seismic": seismic,
                "labels": label_record,
                "segy": segy_record_options(segy_options),
                "ignore_label": ignore_label,
                "class_names": load_class_names(class_names),
            }
        )
    )


def record_digest(record: dict[str, Any], length: int = 10) -> str:
    """A short hex digest of a store record: part of a cached store's name."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length]


def read_record(store: str | os.PathLike) -> dict[str, Any] | None:
    """The record of a survey store (None for one made before records existed)."""
    attrs = store_attrs(store)
    record = attrs.get(STORE_RECORD)
    return record if isinstance(record, dict) else None


def record_differences(found: dict[str, Any] | None, expected: dict[str, Any]) -> list[str]:
    """What differs between a store's record and the one wanted, in words."""
    if found is None:
        return ["it records no inputs (made by an older facies)"]
    words = {
        "seismic": "the SEG-Y file",
        "labels": "the labels",
        "class_names": "the class names",
        "ignore_label": "ignore_label",
        "format": "the store format",
    }
    differ = []
    for key, value in expected.items():
        old = found.get(key)
        if old == value:
            continue
        if key == "segy" and isinstance(old, dict):
            names = sorted(k for k in set(old) | set(value) if old.get(k) != value.get(k))
            changes = ", ".join(f"{k} {old.get(k)!r} -> {value.get(k)!r}" for k in names)
            differ.append(f"SEG-Y options ({changes})")
        elif key in ("ignore_label", "class_names"):
            differ.append(f"{words[key]} ({old!r} -> {value!r})")
        else:
            differ.append(words.get(key, key))
    return differ


# ------------------------------------------------------------------ a store is whole


def _array_meta(folder: Path) -> dict[str, Any] | None:
    """Shape, chunk shape and fixed chunk size (bytes, or None) of the array in
    ``folder`` from its zarr 3 or zarr 2 metadata; None if ``folder`` is no array."""
    try:
        if (folder / "zarr.json").is_file():
            meta = json.loads((folder / "zarr.json").read_text())
            if meta.get("node_type") != "array":
                return None
            chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
            codecs = [c.get("name") for c in meta.get("codecs", [])]
            dtype = meta.get("data_type")
            fixed = codecs == ["bytes"] and isinstance(dtype, str)
            itemsize = np.dtype(dtype).itemsize if fixed else 0
        elif (folder / ".zarray").is_file():
            meta = json.loads((folder / ".zarray").read_text())
            chunks = meta["chunks"]
            fixed = meta.get("compressor") is None and not meta.get("filters")
            itemsize = np.dtype(meta["dtype"]).itemsize if fixed else 0
        else:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {
        "shape": list(meta["shape"]),
        "chunks": list(chunks),
        "chunk_bytes": math.prod(chunks) * itemsize if fixed else None,
    }


def _chunk_files(folder: Path) -> dict[str, int]:
    """{relative chunk key: size} of the chunk files of the array in ``folder``."""
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            if name in METADATA_FILES:
                continue
            path = Path(root, name)
            try:
                found[path.relative_to(folder).as_posix()] = path.stat().st_size
            except OSError:
                continue
    return found


def chunk_census(store: str | os.PathLike) -> dict[str, dict[str, int]]:
    """{array: {"chunks": number of chunk files, "bytes": their total size}} of a store."""
    census = {}
    for entry in sorted(Path(store).iterdir()):
        if entry.is_dir() and _array_meta(entry) is not None:
            files = _chunk_files(entry)
            census[entry.name] = {"chunks": len(files), "bytes": sum(files.values())}
    return census


def _chunk_index(key: str) -> tuple[int, ...] | None:
    """Chunk grid index of a chunk key (``c/0/1/2``, ``c.0.1.2``, ``0.1.2``, ``0/1/2``)."""
    parts = key.replace(".", "/").split("/")
    if parts and parts[0] == "c":
        parts = parts[1:]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return None


def check_complete(store: str | os.PathLike, live: np.ndarray | None = None) -> None:
    """Refuse a survey store that lost chunk files or arrays (no chunk data is read).

    A store with a manifest must hold exactly the chunk files it lists (number and total
    size). One without (written before facies recorded manifests) must hold its
    required arrays, every chunk of ``live``, chunk files of the full size where the
    array is uncompressed, and an amplitude chunk wherever a live trace lies (facies
    leaves out only chunks that hold nothing but the fill value; ``live``: the store's
    live mask, read by the caller).

    Raises:
        IncompleteStoreError: naming the store, what is missing and the fix.
    """
    path = Path(store)
    attrs = store_attrs(path)
    manifest = attrs.get(MANIFEST)
    source = attrs.get("source")
    fix = (
        f"ingest it again (facies ingest input={source or '<the SEG-Y>'} output={path} "
        "overwrite=true), or copy it again whole."
    )

    def refuse(what: str) -> IncompleteStoreError:
        return IncompleteStoreError(f"survey store {path} is incomplete: {what}; {fix}")

    if isinstance(manifest, dict) and isinstance(manifest.get("arrays"), dict):
        census = chunk_census(path)
        for name, recorded in manifest["arrays"].items():
            found = census.get(name)
            if found is None:
                raise refuse(f"its array {name!r} is gone")
            if found != recorded:
                raise refuse(
                    f"{name} holds {found['chunks']} chunk file(s) of {found['bytes']} bytes "
                    f"where {recorded['chunks']} of {recorded['bytes']} bytes were written"
                )
        return
    for name in REQUIRED_ARRAYS:
        if _array_meta(path / name) is None:
            raise refuse(f"its array {name!r} is missing")
    for name in sorted(p.name for p in path.iterdir() if p.is_dir()):
        meta = _array_meta(path / name)
        if meta is None:
            continue
        files = _chunk_files(path / name)
        size = meta["chunk_bytes"]
        torn = [key for key, n in files.items() if size is not None and n != size]
        if torn:
            raise refuse(f"{name} chunk {torn[0]} holds {files[torn[0]]} of its {size} bytes")
        grid = [math.ceil(s / c) for s, c in zip(meta["shape"], meta["chunks"], strict=True)]
        if name == LIVE and len(files) < math.prod(grid):
            raise refuse(f"{name} holds {len(files)} of its {math.prod(grid)} chunk(s)")
        if name == AMPLITUDE and live is not None:
            present = {_chunk_index(key) for key in files}
            ci, cx = meta["chunks"][:2]
            for index in np.ndindex(*grid):
                if index in present:
                    continue
                i, x = index[0], index[1]
                if live[i * ci : (i + 1) * ci, x * cx : (x + 1) * cx].any():
                    raise refuse(
                        f"amplitude chunk {'/'.join(map(str, index))} (inline indices "
                        f"{i * ci}..{min((i + 1) * ci, live.shape[0]) - 1}) is missing where "
                        "live traces lie, and the store records no manifest (made by an "
                        "older facies) to tell it from one left out for holding only zeros"
                    )


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
    legacy = MANIFEST not in (outputs.store_attributes(path) or {})
    if not legacy:
        check_complete(path)
    try:
        survey = xr.open_dataset(path, engine="zarr", consolidated=False, chunks=None, cache=False)
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
