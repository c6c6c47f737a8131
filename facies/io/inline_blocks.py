"""Read a SEG-Y survey a block of inlines at a time, whatever the file's trace order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from facies.io.segy.fields import TRACE_HEADER_SIZE as HEADER_BYTES
from facies.io.segy.reader import BLOCK_BYTES, decode_traces, scatter_traces
from facies.io.segy.scan import SegyScan
from facies.names import DEAD_TRACE_FILL


class InlineBlocks:
    """Index of a scanned file's traces by inline, for block-wise reading.

    Memory is bounded by one block of inlines (plus the per-trace index), not by the
    file: only the traces of the block are decoded, the file mapped a span at a time
    whatever its trace order (:func:`facies.io.segy.reader.decode_traces`).

    Args:
        scan: the scanned file.
        align: blocks hold a multiple of this many inlines (the last one fewer).
        block_bytes: float32 bytes a block aims at (``BLOCK_BYTES`` by default).
    """

    def __init__(self, scan: SegyScan, align: int = 1, block_bytes: int | None = None) -> None:
        self.scan = scan
        grid = scan.grid
        self.order = np.argsort(grid.il_index, kind="stable")
        self.sorted_il = grid.il_index[self.order]
        nxl = grid.shape[1]
        per_inline = nxl * scan.layout.samples_per_trace * 4
        lines = max(1, (BLOCK_BYTES if block_bytes is None else block_bytes) // per_inline)
        self.block_inlines = min(grid.shape[0], max(align, lines // align * align))

    def ranges(self) -> Iterator[tuple[int, int]]:
        """Inline index ranges ``(start, stop)`` of about BLOCK_BYTES each."""
        nil = self.scan.grid.shape[0]
        for start in range(0, nil, self.block_inlines):
            yield start, min(start + self.block_inlines, nil)

    def read(
        self,
        start: int,
        stop: int,
        out: np.ndarray | None = None,
        headers: np.ndarray | None = None,
    ) -> np.ndarray:
        """Amplitudes of inline indices ``start:stop`` as (inlines, crosslines, samples).

        Args:
            start, stop: inline index range.
            out: optional float32 buffer of at least ``stop - start`` inlines to reuse.
            headers: optional uint8 buffer of at least ``stop - start`` inlines by every
                crossline by 240 bytes, filled with the cells' trace headers in the same
                pass over the file (zeros where no trace lies).
        """
        grid = self.scan.grid
        nxl, ns = grid.shape[1], self.scan.layout.samples_per_trace
        shape = (stop - start, nxl, ns)
        block = np.empty(shape, np.float32) if out is None else out[: stop - start]
        cells = None if headers is None else headers[: stop - start].reshape(-1, HEADER_BYTES)
        lo, hi = np.searchsorted(self.sorted_il, [start, stop])
        picks = np.sort(self.order[lo:hi])  # positions in grid.traces, in file order
        traces = grid.traces[picks]
        flat = grid.il_index[picks] - start
        flat = flat * nxl + grid.xl_index[picks]
        contiguous = len(traces) == block.shape[0] * nxl and len(traces) > 0
        contiguous = contiguous and traces[-1] - traces[0] == len(traces) - 1
        if contiguous and np.array_equal(flat, np.arange(len(flat))):
            decode_traces(self.scan, traces, block.reshape(-1, ns), cells)
            return block
        block.fill(DEAD_TRACE_FILL)
        if cells is not None:
            cells.fill(0)
        if len(traces):
            scatter_traces(self.scan, traces, flat, block.reshape(-1, ns), cells)
        return block
