"""SEG-Y -> survey (``xarray.Dataset``) with geometry from the trace headers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from facies.io.segy.formats import SAMPLE_FORMATS, decode_into
from facies.io.segy.scan import SegyScan, release, scan_segy
from facies.names import (
    AMPLITUDE,
    CDP_X,
    CDP_Y,
    CROSSLINE,
    DEAD_TRACE_FILL,
    DIMS,
    INLINE,
    LIVE,
    SAMPLE,
)

log = logging.getLogger(__name__)

#: Traces are decoded in blocks of about this many bytes.
BLOCK_BYTES = 64 * 2**20
#: The most of a file mapped at once while traces are decoded (:func:`mapped_traces`).
SPAN_BYTES = 16 * 2**20
#: Files larger than this show a progress bar while they are read.
PROGRESS_BYTES = 256 * 2**20


def open_segy(path: str | os.PathLike, **options: Any) -> xr.Dataset:
    """Read a post-stack 3-D SEG-Y file into a survey.

    Geometry comes from the trace headers; traces may be in any order. Cells that are
    not live are filled with ``DEAD_TRACE_FILL`` (0.0) and marked ``live=False``: cells
    of the inline/crossline grid without a trace, traces flagged dead in their headers
    (:data:`facies.io.segy.scan.DEAD_TRACE_CODES`) and, unless ``zero_traces="live"``,
    traces whose samples are all zero.

    Args:
        path: the SEG-Y file.
        **options: passed to :func:`facies.io.segy.scan.scan_segy`: ``iline``,
            ``xline`` (header bytes, 189/193 by default), ``offset_byte``, ``offset``,
            ``endian``, ``sample_interval``, ``domain``, ``min_live_fraction``,
            ``zero_traces``.

    Returns:
        Dataset with dims (inline, crossline, sample): float32 ``amplitude``, bool
        ``live``, ``cdp_x``/``cdp_y``, and attrs describing the source.

    Raises:
        FaciesError: any problem with the file, with what was found and the fix.
    """
    scan = scan_segy(path, **options)
    amplitude = read_amplitude(scan)
    live, zero = settle_live(amplitude, scan.grid.live_mask(), scan.zero_traces_dead)
    return survey_from_scan(scan, amplitude, live=live, all_zero=int(np.count_nonzero(zero)))


def settle_live(
    block: np.ndarray, live: np.ndarray, zero_traces_dead: bool
) -> tuple[np.ndarray, np.ndarray]:
    """What is live in a decoded block, now that its samples are known.

    Args:
        block: (inlines, crosslines, samples) amplitudes, changed in place: cells that
            are not live are set to ``DEAD_TRACE_FILL``.
        live: (inlines, crosslines) live mask from the headers (``grid.live_mask()``).
        zero_traces_dead: all-zero traces are not live (the ``zero_traces`` option).

    Returns:
        ``(live, zero)``: the live mask, and where a trace live by its header holds
        only zeros (whatever the option, for the QC). NaN is not zero.
    """
    zero = live & ~block.any(axis=-1)
    if zero_traces_dead:
        live = live & ~zero
    if not live.all():
        block[~live] = DEAD_TRACE_FILL
    return live, zero


def read_amplitude(scan: SegyScan) -> np.ndarray:
    """Decode every kept trace of a scanned file into an (inline, crossline, sample) cube."""
    grid = scan.grid
    nil, nxl = grid.shape
    ns = scan.layout.samples_per_trace
    cube = np.full((nil, nxl, ns), DEAD_TRACE_FILL, dtype=np.float32)
    flat = cube.reshape(nil * nxl, ns)
    dense = grid.is_dense_inline_order()
    step = max(1, BLOCK_BYTES // scan.layout.trace_size)
    buffer = np.empty((min(step, len(grid.traces)), ns), dtype=np.float32)
    with progress(scan, len(grid.traces), "read SEG-Y") as bar:
        for start in range(0, len(grid.traces), step):
            stop = min(start + step, len(grid.traces))
            traces = grid.traces[start:stop]
            if dense:
                decode_traces(scan, traces, flat[start:stop])
            else:
                block = buffer[: stop - start]
                decode_traces(scan, traces, block)
                cube[grid.il_index[start:stop], grid.xl_index[start:stop]] = block
            bar.update(stop - start)
    return cube


def decode_traces(
    scan: SegyScan, traces: np.ndarray, out: np.ndarray, headers: np.ndarray | None = None
) -> None:
    """Decode file traces ``traces`` (ascending trace numbers) into ``out`` (float32),
    and copy their 240-byte headers into ``headers`` (uint8, one row a trace) if given:
    one pass over the file for both.

    The file is mapped a span of at most :data:`SPAN_BYTES` at a time, each map dropped
    before the next is made (:func:`mapped_traces`), so resident memory stays bounded by
    ``out`` and one span whatever the trace order (a crossline-sorted or shuffled file
    spreads an inline block's traces over the whole file).
    """
    fmt, endian = scan.layout.format_code, scan.layout.endian
    for rows, records in mapped_traces(scan, traces):
        decode_into(records["data"], fmt, endian, out[rows])
        if headers is not None:
            headers[rows] = records["header"]
        del records


def scatter_traces(
    scan: SegyScan,
    traces: np.ndarray,
    targets: np.ndarray,
    out: np.ndarray,
    headers: np.ndarray | None = None,
) -> None:
    """Decode file traces ``traces`` (ascending) into rows ``targets`` of ``out``
    (float32, one row a trace; headers into the same rows of ``headers``), a span of the
    file at a time: memory beyond ``out`` is one span's traces, whatever the order."""
    fmt, endian = scan.layout.format_code, scan.layout.endian
    for rows, records in mapped_traces(scan, traces):
        values = np.empty((len(records), out.shape[-1]), dtype=np.float32)
        decode_into(records["data"], fmt, endian, values)
        out[targets[rows]] = values
        if headers is not None:
            headers[targets[rows]] = records["header"]
        del records, values


def mapped_traces(scan: SegyScan, traces: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """The (header, data) records of file traces ``traces`` (ascending), a span of the
    file at a time: ``(rows of traces, their records)``.

    A span covers at most :data:`SPAN_BYTES` of the file (one trace where traces lie
    further apart). Its map is dropped when the next is asked for: use (or copy) the
    records before, and keep no reference to them. Pages of a map that were read count
    towards resident memory while the map lives; mapping the whole span between a
    block's first and last trace made a crossline-sorted ingest hold the whole file.
    """
    per_span = max(1, SPAN_BYTES // scan.layout.trace_size)
    start = 0
    while start < len(traces):
        first = int(traces[start])
        stop = max(start + 1, int(np.searchsorted(traces, first + per_span, side="left")))
        last = int(traces[stop - 1]) + 1
        records = scan.records(first, last)
        if last - first != stop - start:
            records = records[traces[start:stop] - first]
        yield slice(start, stop), records
        release(records)
        del records
        start = stop


def progress(scan: SegyScan, total: int, desc: str, unit: str = "trace") -> tqdm:
    """A progress bar for files large enough to take a while."""
    show = scan.layout.file_size > PROGRESS_BYTES
    return tqdm(total=total, unit=unit, desc=desc, disable=not show, leave=False)


def survey_from_scan(
    scan: SegyScan,
    amplitude: np.ndarray,
    live: np.ndarray | None = None,
    all_zero: int | None = None,
) -> xr.Dataset:
    """Wrap an amplitude cube and a scan's geometry as a survey dataset.

    Args:
        scan: the scanned file.
        amplitude: its (inline, crossline, sample) cube.
        live: the live mask; by default the headers' (``scan.grid.live_mask()``).
        all_zero: number of all-zero traces, where the samples were read.
    """
    layout, grid, hb = scan.layout, scan.grid, scan.header_bytes
    live = grid.live_mask() if live is None else live
    fmt = SAMPLE_FORMATS[layout.format_code]
    unit = "ms" if scan.domain == "twt" else "m"
    sample_attrs = {"units": unit, "domain": scan.domain}
    coords = {
        INLINE: (INLINE, grid.inlines, {"header_byte": hb.iline}),
        CROSSLINE: (CROSSLINE, grid.crosslines, {"header_byte": hb.xline}),
        SAMPLE: (SAMPLE, scan.samples, sample_attrs),
        scan.domain: (SAMPLE, scan.samples, sample_attrs),
        CDP_X: ((INLINE, CROSSLINE), scan.cdp_x, {"header_byte": scan.coordinate_bytes[0]}),
        CDP_Y: ((INLINE, CROSSLINE), scan.cdp_y, {"header_byte": scan.coordinate_bytes[1]}),
    }
    data_vars = {
        AMPLITUDE: (DIMS, amplitude, {"dead_trace_fill": DEAD_TRACE_FILL}),
        LIVE: ((INLINE, CROSSLINE), live),
    }
    attrs = {
        "source": str(layout.path.resolve()),
        "source_size": layout.file_size,
        "sample_format": layout.format_code,
        "sample_format_name": fmt.name,
        "endian": layout.endian,
        "segy_revision": layout.revision,
        "sorting": grid.sorting,
        "textual_header": scan.text,
        "iline_byte": hb.iline,
        "xline_byte": hb.xline,
        "offset_byte": hb.offset,
        "coordinate_bytes": list(scan.coordinate_bytes),
        "live_fraction": float(live.mean()),
        "sample_interval": scan.sample_interval,
        "live_traces": int(np.count_nonzero(live)),
        "dead_flagged_traces": grid.dead_flagged,
        "missing_traces": grid.missing,
        "zero_traces": scan.zero_traces,
    }
    if all_zero is not None:
        attrs["all_zero_traces"] = all_zero
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def survey_coordinates(scan: SegyScan) -> xr.Dataset:
    """A scan's survey without its amplitude cube: coordinates, live mask and attrs."""
    shape = (*scan.grid.shape, scan.layout.samples_per_trace)
    return survey_from_scan(scan, np.broadcast_to(np.float32(0), shape)).drop_vars(AMPLITUDE)
