"""What a SEG-Y output is written like: file headers, trace order and trace headers.

A template comes from a SEG-Y file (:func:`template_of_scan`: the file is read as the
output is written) or from what a survey store kept of the file it was made from
(:func:`facies.io.store_template.template_of_store`: the source file is not needed).
:mod:`facies.io.segy.writer` writes either the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facies.errors import FaciesError
from facies.io.segy.fields import TRACE_HEADER_SIZE
from facies.io.segy.scan import SegyScan

#: Trace headers are checksummed this many at a time.
CHECKSUM_TRACES = 1 << 16


@dataclass(frozen=True)
class SegyTemplate:
    """The layout an output takes: every trace of the template, in its order.

    Attributes:
        source: the SEG-Y file the headers are those of (it may be gone), for the
            output's textual header and for messages.
        head: the textual, binary and extended textual headers, byte for byte.
        endian: ``"big"`` or ``"little"``: the byte order of ``head`` and the headers.
        samples_per_trace: samples of every trace.
        il_index, xl_index: grid cell of each trace, in the template's trace order.
        trace_headers: ``(start, stop)`` -> the (stop - start, 240) uint8 trace headers
            of traces ``start:stop``.
        path: the file read as the output is written (an input of the run), or None.
        kept_in: the survey store the headers were kept in, or None.
    """

    source: Path
    head: bytes
    endian: str
    samples_per_trace: int
    il_index: np.ndarray
    xl_index: np.ndarray
    trace_headers: Callable[[int, int], np.ndarray]
    path: Path | None = None
    kept_in: Path | None = None

    @property
    def trace_count(self) -> int:
        return len(self.il_index)

    @property
    def first_trace_offset(self) -> int:
        return len(self.head)

    @property
    def prefix(self) -> str:
        return ">" if self.endian == "big" else "<"

    def headers_checksum(self) -> str:
        """BLAKE2b of the file headers and every trace header in order: the checksum
        :func:`facies.io.fingerprint.segy_headers_checksum` takes of a SEG-Y file."""
        digest = hashlib.blake2b(digest_size=20)
        digest.update(self.head)
        for start in range(0, self.trace_count, CHECKSUM_TRACES):
            stop = min(start + CHECKSUM_TRACES, self.trace_count)
            digest.update(np.ascontiguousarray(self.trace_headers(start, stop)))
        return f"blake2b:{digest.hexdigest()}"


def as_template(template: SegyScan | SegyTemplate) -> SegyTemplate:
    """A template, from a scanned SEG-Y file or as it is."""
    return template if isinstance(template, SegyTemplate) else template_of_scan(template)


def template_of_scan(scan: SegyScan) -> SegyTemplate:
    """The template of a scanned post-stack SEG-Y file (its headers are read from it).

    Raises:
        FaciesError: not every trace lies on the grid (an offset of a prestack file was
            selected): a template must be post-stack.
    """
    layout, grid = scan.layout, scan.grid
    if len(grid.traces) != layout.trace_count:
        raise FaciesError(
            f"{layout.path}: only {len(grid.traces)} of {layout.trace_count} traces lie "
            "on the grid (an offset was selected); a template must be post-stack."
        )
    with layout.path.open("rb") as fh:
        head = fh.read(layout.first_trace_offset)

    def headers(start: int, stop: int) -> np.ndarray:
        return scan.records(start, stop)["header"]

    return SegyTemplate(
        source=layout.path,
        head=head,
        endian=layout.endian,
        samples_per_trace=layout.samples_per_trace,
        il_index=grid.il_index,
        xl_index=grid.xl_index,
        trace_headers=headers,
        path=layout.path,
    )


def gather_cells(
    read: Callable[[slice, slice], np.ndarray],
    il_index: np.ndarray,
    xl_index: np.ndarray,
    max_bytes: int = 64 << 20,
) -> np.ndarray:
    """Rows of an (inline, crossline, 240) array at cells ``(il_index, xl_index)``.

    ``read(inlines, crosslines)`` returns a box of the array; boxes of at most about
    ``max_bytes`` are read (slabs of inlines), so memory stays bounded whatever the order.
    """
    out = np.empty((len(il_index), TRACE_HEADER_SIZE), dtype=np.uint8)
    if not len(il_index):
        return out
    x0, x1 = int(xl_index.min()), int(xl_index.max()) + 1
    slab = max(1, max_bytes // ((x1 - x0) * TRACE_HEADER_SIZE))
    i0, i1 = int(il_index.min()), int(il_index.max()) + 1
    for lo in range(i0, i1, slab):
        hi = min(lo + slab, i1)
        here = np.flatnonzero((il_index >= lo) & (il_index < hi))
        if len(here):
            box = read(slice(lo, hi), slice(x0, x1))
            out[here] = box[il_index[here] - lo, xl_index[here] - x0]
    return out
