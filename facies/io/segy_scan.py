"""Everything that the headers of a SEG-Y file say, read without touching samples.

:func:`scan_segy` is shared by the reader, the writer (which needs the template's
trace order) and ``facies info``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from facies.errors import SegyFormatError
from facies.io import segy_headers as th
from facies.io.segy_geometry import MIN_LIVE_FRACTION, Grid, build_grid
from facies.io.segy_layout import TEXT_HEADER_SIZE, TRACE_HEADER_SIZE, SegyLayout, read_layout
from facies.names import DEPTH, DOMAINS, TWT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeaderBytes:
    """Trace header bytes (1-based) that hold the geometry keys."""

    iline: int = 189
    xline: int = 193
    offset: int = 37


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

    def records(self) -> np.memmap:
        """The traces as a read-only memory map of (header, data) records."""
        return trace_records(self.layout)


def trace_records(layout: SegyLayout, mode: str = "r") -> np.memmap:
    """Memory map of a file's traces: fields ``header`` (240 bytes) and ``data``."""
    dtype = np.dtype(
        [
            ("header", "u1", (TRACE_HEADER_SIZE,)),
            ("data", "u1", (layout.samples_per_trace * layout.bytes_per_sample,)),
        ]
    )
    return np.memmap(
        layout.path,
        mode=mode,
        dtype=dtype,
        offset=layout.first_trace_offset,
        shape=(layout.trace_count,),
    )


def scan_segy(
    path: str | os.PathLike,
    *,
    iline: int = 189,
    xline: int = 193,
    offset_byte: int = 37,
    offset: int | None = None,
    endian: Literal["auto", "big", "little"] = "auto",
    sample_interval: float | None = None,
    domain: str = TWT,
    min_live_fraction: float = MIN_LIVE_FRACTION,
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
    """
    if domain not in DOMAINS:
        raise SegyFormatError(f"domain must be one of {DOMAINS}, not {domain!r}.")
    layout = read_layout(path, endian)
    header_bytes = HeaderBytes(iline, xline, offset_byte)
    records = trace_records(layout)
    headers = records["header"]
    p = layout.prefix
    grid = build_grid(
        th.read_field(headers, iline, p),
        th.read_field(headers, xline, p),
        th.read_field(headers, offset_byte, p),
        source=str(layout.path),
        iline_byte=iline,
        xline_byte=xline,
        offset_byte=offset_byte,
        offset=offset,
        min_live_fraction=min_live_fraction,
    )
    kept = headers[grid.traces] if len(grid.traces) < layout.trace_count else headers
    cdp_x, cdp_y, coordinate_bytes = _coordinates(kept, grid, p)
    with open(layout.path, "rb") as fh:
        text = th.decode_text(fh.read(TEXT_HEADER_SIZE))
    samples, interval = _sample_axis(headers, layout, sample_interval, domain)
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
    )


def _sample_axis(
    headers: np.ndarray, layout: SegyLayout, override: float | None, domain: str
) -> tuple[np.ndarray, float]:
    p = layout.prefix
    first = headers[:1]
    trace_interval = int(th.read_field(first, th.INTERVAL_FIELD, p)[0])
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
        raise SegyFormatError(
            f"{layout.path}: the sample interval is {layout.binary_interval} in the binary "
            f"header (byte 3217) and {trace_interval} in the first trace header (byte 117). "
            f"Give it explicitly, in {unit}: sample_interval=4 (for example)."
        )
    delay = th.read_field(first, th.DELAY_FIELD, p).astype(np.float64)
    t0 = float(th.apply_scalar(delay, th.read_field(first, th.TIME_SCALAR_FIELD, p))[0])
    if domain == DEPTH:
        log.info("depth domain: sample axis in the file's depth unit")
    return t0 + interval * np.arange(layout.samples_per_trace, dtype=np.float64), interval


def _coordinates(
    headers: np.ndarray, grid: Grid, p: str
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    scalar = th.read_field(headers, th.COORD_SCALAR_FIELD, p)
    bytes_used = (th.CDP_X_FIELD, th.CDP_Y_FIELD)
    x = th.read_field(headers, th.CDP_X_FIELD, p)
    y = th.read_field(headers, th.CDP_Y_FIELD, p)
    if not (x.any() or y.any()):
        sx = th.read_field(headers, th.SOURCE_X_FIELD, p)
        sy = th.read_field(headers, th.SOURCE_Y_FIELD, p)
        if sx.any() or sy.any():
            log.info("CDP X/Y (bytes 181/185) are all zero; using source X/Y (bytes 73/77)")
            x, y, bytes_used = sx, sy, (th.SOURCE_X_FIELD, th.SOURCE_Y_FIELD)
    cdp_x = np.full(grid.shape, np.nan)
    cdp_y = np.full(grid.shape, np.nan)
    cdp_x[grid.il_index, grid.xl_index] = th.apply_scalar(x, scalar)
    cdp_y[grid.il_index, grid.xl_index] = th.apply_scalar(y, scalar)
    return cdp_x, cdp_y, bytes_used
