"""Everything that the headers of a SEG-Y file say, read without touching samples.

:func:`scan_segy` is shared by the reader, the writer (which needs the template's
trace order) and ``facies info``.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from facies.errors import OptionError, SegyFormatError, SegyFormatOptionError
from facies.io.segy import fields
from facies.io.segy import headers as th
from facies.io.segy.geometry import MIN_LIVE_FRACTION, Grid, build_grid
from facies.io.segy.layout import SegyLayout, read_layout
from facies.names import DEPTH, DOMAINS, TWT

log = logging.getLogger(__name__)

#: Trace headers are read in spans of about this many bytes of file.
HEADER_SPAN_BYTES = 64 * 2**20

#: Trace identification codes (trace header bytes 29-30) of traces that are not live.
#: SEG-Y rev 0, 1 and 2 agree on the small codes: -1 other, 0 unknown, 1 seismic data,
#: 2 dead, 3 dummy, 4 time break, 5 uphole, 6 sweep, 7 timing, 8 water break, 9 and 10
#: gun signatures, 11 and up sensor types (rev 2 adds more). A dead trace (2) holds no
#: usable data by definition. A dummy trace (3) is a placeholder that holds no recorded
#: data (padding of a gather or of a grid), so it is not live either. Every other code is
#: read as data: post-stack files hold 0 or 1 almost always, and writers that fill the
#: field with something else (segyio's test files hold garbage in it where they are
#: misread) must not lose their traces.
DEAD_TRACE_CODES = (2, 3)

#: Values of the ``zero_traces`` option: all-zero traces are not live (``dead``, the
#: default), or are read as data (``live``).
ZERO_TRACES_DEAD, ZERO_TRACES_LIVE = "dead", "live"
ZERO_TRACES = (ZERO_TRACES_DEAD, ZERO_TRACES_LIVE)


@dataclass(frozen=True)
class HeaderBytes:
    """Trace header bytes (1-based) that hold the geometry keys."""

    iline: int = fields.INLINE_3D
    xline: int = fields.CROSSLINE_3D
    offset: int = fields.OFFSET


@dataclass(frozen=True)
class SegyScan:
    """Layout, geometry, sample axis and coordinates of a SEG-Y file."""

    layout: SegyLayout
    grid: Grid
    header_bytes: HeaderBytes
    samples: np.ndarray  # physical sample positions (ms or m)
    sample_interval: float  # ms or m
    domain: str
    cdp_x: np.ndarray  # (inline, crossline), NaN where no trace
    cdp_y: np.ndarray
    coordinate_bytes: tuple[int, int]
    text: str
    #: What all-zero traces are (``ZERO_TRACES``); the readers apply it as they decode.
    zero_traces: str = ZERO_TRACES_DEAD

    @property
    def zero_traces_dead(self) -> bool:
        return self.zero_traces == ZERO_TRACES_DEAD

    def records(self, start: int = 0, stop: int | None = None) -> np.memmap:
        """Traces ``start:stop`` as a read-only memory map of (header, data) records."""
        return trace_records(self.layout, start, stop)


def trace_records(layout: SegyLayout, start: int = 0, stop: int | None = None) -> np.memmap:
    """Memory map of traces ``start:stop``: fields ``header`` (240 bytes) and ``data``.

    Map spans, not the whole file, and drop them when done: pages of a map that were
    read count towards the process' resident memory while the map lives.
    """
    stop = layout.trace_count if stop is None else stop
    dtype = np.dtype(
        [
            ("header", "u1", (fields.TRACE_HEADER_SIZE,)),
            ("data", "u1", (layout.samples_per_trace * layout.bytes_per_sample,)),
        ]
    )
    return np.memmap(
        layout.path,
        mode="r",
        dtype=dtype,
        offset=layout.first_trace_offset + start * dtype.itemsize,
        shape=(stop - start,),
    )


def release(records: np.ndarray) -> None:
    """Drop the pages of a map of the file (:func:`trace_records`) from the process'
    resident memory: they stay in the page cache, and are read again from it if the
    map is used after. Nothing for an array that maps no file (a copy)."""
    mapped = getattr(records, "_mmap", None)
    if mapped is not None:
        with contextlib.suppress(ValueError, OSError):  # closed, or no madvise here
            mapped.madvise(mmap.MADV_DONTNEED)


def read_fields(layout: SegyLayout, starts: list[int]) -> dict[int, np.ndarray]:
    """Trace header fields (by start byte) of every trace, read in spans of about 64 MiB."""
    step = max(1, HEADER_SPAN_BYTES // layout.trace_size)
    values = {byte: np.empty(layout.trace_count, dtype=np.int32) for byte in starts}
    for start in range(0, layout.trace_count, step):
        stop = min(start + step, layout.trace_count)
        records = trace_records(layout, start, stop)
        headers = records["header"]
        for byte in starts:
            values[byte][start:stop] = th.read_field(headers, byte, layout.prefix)
        release(records)
        del records, headers
    return values


def scan_segy(
    path: str | os.PathLike,
    *,
    iline: int = fields.INLINE_3D,
    xline: int = fields.CROSSLINE_3D,
    offset_byte: int = fields.OFFSET,
    offset: int | None = None,
    endian: Literal["auto", "big", "little"] = "auto",
    sample_interval: float | None = None,
    domain: str = TWT,
    min_live_fraction: float = MIN_LIVE_FRACTION,
    zero_traces: str = ZERO_TRACES_DEAD,
) -> SegyScan:
    """Read the headers of a SEG-Y file and build its geometry.

    Args:
        path: the SEG-Y file.
        iline, xline: trace header bytes of the inline and crossline numbers.
        offset_byte: trace header byte of the offset (to recognise prestack data).
        offset: read only the traces of this offset from a prestack file.
        endian: byte order, or "auto" to detect it.
        sample_interval: sample interval in ms (or m) to use instead of the headers';
            required where the headers hold none.
        domain: name of the sample axis' physical coordinate, "twt" or "depth".
        min_live_fraction: refuse grids sparser than this (0 reads any grid).
        zero_traces: "dead" (all-zero traces are not live) or "live"; the scan only
            records it, the readers apply it where they decode the samples.

    Traces whose identification code (bytes 29-30) is in ``DEAD_TRACE_CODES`` stay on
    the grid (``grid.traces``: a SEG-Y written like this file keeps every trace) but are
    not live (``grid.live_mask()``).
    """
    if domain not in DOMAINS:
        raise SegyFormatError(f"domain must be one of {DOMAINS}, not {domain!r}.")
    if zero_traces not in ZERO_TRACES:
        raise OptionError(
            f"{{key}}={zero_traces!r} is not one of {', '.join(ZERO_TRACES)}: all-zero traces "
            f"are either dead (not trained on, predicted as no-data; the default) or live.",
            option="zero_traces",
        )
    layout = read_layout(path, endian)
    header_bytes = HeaderBytes(iline, xline, offset_byte)
    coordinate_fields = [fields.COORDINATE_SCALAR, fields.CDP_X, fields.CDP_Y]
    coordinate_fields += [fields.SOURCE_X, fields.SOURCE_Y]
    keys = [iline, xline, offset_byte, fields.SAMPLE_COUNT, fields.TRACE_IDENTIFICATION_CODE]
    values = read_fields(layout, list(dict.fromkeys([*keys, *coordinate_fields])))
    _check_sample_counts(layout, values[fields.SAMPLE_COUNT])
    flagged_dead = np.isin(values[fields.TRACE_IDENTIFICATION_CODE], DEAD_TRACE_CODES)
    grid = build_grid(
        values[iline],
        values[xline],
        values[offset_byte],
        source=str(layout.path),
        iline_byte=iline,
        xline_byte=xline,
        offset_byte=offset_byte,
        offset=offset,
        min_live_fraction=min_live_fraction,
        flagged_dead=flagged_dead,
    )
    _note_dead(layout, grid)
    cdp_x, cdp_y, coordinate_bytes = _coordinates(layout, values, grid)
    with open(layout.path, "rb") as fh:
        text = th.decode_text(fh.read(fields.TEXT_HEADER_SIZE))
    first = np.array(trace_records(layout, 0, 1)["header"])
    samples, interval = _sample_axis(first, layout, sample_interval, domain)
    return SegyScan(
        layout=layout,
        grid=grid,
        header_bytes=header_bytes,
        samples=samples,
        sample_interval=interval,
        domain=domain,
        cdp_x=cdp_x,
        cdp_y=cdp_y,
        coordinate_bytes=coordinate_bytes,
        text=text,
        zero_traces=zero_traces,
    )


def _note_dead(layout: SegyLayout, grid: Grid) -> None:
    """Say how many traces are flagged dead: they stay in the file but are not live."""
    dead, total = grid.dead_flagged, len(grid.traces)
    if not dead:
        return
    byte = fields.TRACE_IDENTIFICATION_CODE
    codes = " or ".join(str(code) for code in DEAD_TRACE_CODES)
    if dead == total:
        log.warning(
            "%s: every one of its %d traces is flagged dead (trace identification code %s, "
            "bytes %d-%d): no trace is live, there is nothing to train on or predict",
            layout.path, total, codes, byte, byte + 1,
        )  # fmt: skip
    else:
        log.info(
            "%s: %d of %d traces are flagged dead (trace identification code %s, bytes "
            "%d-%d): they are not live",
            layout.path, dead, total, codes, byte, byte + 1,
        )  # fmt: skip


def _check_sample_counts(layout: SegyLayout, counts: np.ndarray) -> None:
    """Every trace header must give the file's sample count, the first one's, or 0.

    Anything else means the traces are not where the sample count and format put them:
    the bytes read as trace headers are samples, and the geometry would be garbage.
    """
    ns = layout.samples_per_trace
    counts = counts.astype(np.int64) & 0xFFFF  # an unsigned 2-byte field
    bad = np.flatnonzero(~np.isin(counts, [0, ns, counts[0]]))
    if len(bad) == 0:
        return
    k = int(bad[0])
    raise SegyFormatError(
        f"{layout.path}: the header of trace {k + 1} of {layout.trace_count} says "
        f"{counts[k]} samples (byte {fields.SAMPLE_COUNT}), not {ns} ({len(bad)} trace(s) "
        f"disagree). Traces of {ns} samples in format {layout.format_code} "
        f"({layout.bytes_per_sample} bytes each) are {layout.trace_size} bytes long, and "
        "at that length the trace headers do not fall where they should: the sample count "
        f"(binary header byte {fields.BIN_SAMPLE_COUNT}) or the sample format (byte "
        f"{fields.BIN_FORMAT}) is wrong, or the traces differ in length (not supported). Fix "
        "the binary header, or re-export the file."
    )


def _sample_axis(
    first: np.ndarray, layout: SegyLayout, override: float | None, domain: str
) -> tuple[np.ndarray, float]:
    p = layout.prefix
    trace_interval = int(th.read_field(first, fields.SAMPLE_INTERVAL, p)[0])
    if override is not None:
        if not override > 0:
            raise SegyFormatError(f"sample_interval must be positive, not {override}.")
        interval = float(override)
    elif layout.binary_interval > 0:
        interval = layout.binary_interval / 1000.0
    elif trace_interval > 0:
        interval = trace_interval / 1000.0
    else:
        unit = "ms" if domain == TWT else "m"
        raise SegyFormatOptionError(
            f"{layout.path}: the sample interval is {layout.binary_interval} in the binary "
            f"header (byte {fields.BIN_SAMPLE_INTERVAL}) and {trace_interval} in the first trace "
            f"header (byte {fields.SAMPLE_INTERVAL}). "
            f"Give it explicitly, in {unit}: " + "{key}=4 (for example).",
            option="sample_interval",
        )
    delay = th.read_field(first, fields.DELAY, p).astype(np.float64)
    t0 = float(th.apply_scalar(delay, th.read_field(first, fields.TIME_SCALAR, p))[0])
    if domain == DEPTH:
        log.info("depth domain: sample axis in the file's depth unit")
    return t0 + interval * np.arange(layout.samples_per_trace, dtype=np.float64), interval


def _coordinates(
    layout: SegyLayout, values: dict[int, np.ndarray], grid: Grid
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    kept = grid.traces
    scalar = values[fields.COORDINATE_SCALAR][kept]
    bytes_used = (fields.CDP_X, fields.CDP_Y)
    x, y = values[fields.CDP_X][kept], values[fields.CDP_Y][kept]
    if not (x.any() or y.any()):  # read the source coordinates only where needed
        source = read_fields(layout, [fields.SOURCE_X, fields.SOURCE_Y])
        sx, sy = source[fields.SOURCE_X][kept], source[fields.SOURCE_Y][kept]
        if sx.any() or sy.any():
            log.info(
                "CDP X/Y (bytes %d/%d) are all zero; using source X/Y (bytes %d/%d)",
                *bytes_used,
                fields.SOURCE_X,
                fields.SOURCE_Y,
            )
            x, y, bytes_used = sx, sy, (fields.SOURCE_X, fields.SOURCE_Y)
    cdp_x = np.full(grid.shape, np.nan)
    cdp_y = np.full(grid.shape, np.nan)
    cdp_x[grid.il_index, grid.xl_index] = th.apply_scalar(x, scalar)
    cdp_y[grid.il_index, grid.xl_index] = th.apply_scalar(y, scalar)
    return cdp_x, cdp_y, bytes_used
