"""A SEG-Y template from what a survey store kept of its source file.

``facies ingest`` keeps the source's textual, binary and extended textual headers (store
attributes) and each grid cell's 240-byte trace header (variable ``trace_header``,
zeros where no trace lies), so a facies SEG-Y can be written like the source after the
file has moved. The source's trace order is not kept as such: it is recovered (the
trace sequence numbers, bytes 5-8, or the file's inline or crossline sorting) and
proved by the store's record, whose checksum covers the source's file headers and
every trace header in file order (:func:`facies.io.fingerprint.segy_headers_checksum`).
A template whose headers do not reproduce that checksum is refused, never written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from facies.errors import ConfigError
from facies.io.segy.fields import TRACE_SEQUENCE_FILE
from facies.io.segy.headers import read_field
from facies.io.segy.template import SegyTemplate, gather_cells
from facies.io.store import TRACE_HEADER, open_survey, read_record
from facies.names import CROSSLINE, INLINE, SAMPLE

log = logging.getLogger(__name__)

#: Store attributes holding the source's file headers as hex (:func:`facies.io.store.file_headers`).
FILE_HEADER_ATTRS = ("segy_textual_header", "segy_binary_header")
EXTENDED_HEADER_ATTR = "segy_extended_textual_headers"
#: The trace headers are read this many bytes at a time.
SLAB_BYTES = 64 << 20


class KeptHeadersError(ConfigError):
    """A store cannot stand in for its source SEG-Y file; ``reason`` says why."""

    def __init__(self, store: Path, reason: str) -> None:
        super().__init__(f"survey store {store} cannot write SEG-Y without its source: {reason}.")
        self.reason = reason


def template_of_store(store: str | os.PathLike, survey: xr.Dataset | None = None) -> SegyTemplate:
    """The template of the SEG-Y file ``store`` was ingested from, from what it kept.

    Args:
        store: a survey store made by ``facies ingest``.
        survey: the store, opened (:func:`facies.io.store.open_survey`), if at hand.

    Raises:
        KeptHeadersError: the store keeps no SEG-Y headers (made by an older facies, or
            from another format), or they do not reproduce the source's (its record).
    """
    store = Path(store)
    survey = open_survey(store) if survey is None else survey
    attrs = survey.attrs
    if TRACE_HEADER not in survey.variables or not all(a in attrs for a in FILE_HEADER_ATTRS):
        raise KeptHeadersError(
            store, "it keeps no SEG-Y headers (made by an older facies, or from another format)"
        )
    seismic = (read_record(store) or {}).get("seismic") or {}
    if seismic.get("kind") != "segy" or not seismic.get("checksum"):
        raise KeptHeadersError(store, "its record holds no checksum of the source's headers")
    head = b"".join(
        bytes.fromhex(attrs.get(a, "")) for a in (*FILE_HEADER_ATTRS, EXTENDED_HEADER_ATTR)
    )
    endian = attrs.get("endian", "big")
    headers = survey[TRACE_HEADER].variable
    present, sequence = _cells(headers, ">" if endian == "big" else "<")
    _zero_header_trace(survey, present, seismic.get("traces"))
    il, xl = np.nonzero(present)
    if len(il) != seismic.get("traces"):
        raise KeptHeadersError(
            store,
            f"it keeps {len(il)} trace headers where its source held {seismic.get('traces')} "
            "traces (a prestack file read at one offset)",
        )

    def read(inlines: slice, crosslines: slice) -> np.ndarray:
        return np.asarray(headers[inlines, crosslines].values)

    for order in _orders(il, xl, sequence[il, xl], str(attrs.get("sorting", ""))):
        template = SegyTemplate(
            source=Path(str(attrs.get("source", store))),
            head=head,
            endian=endian,
            samples_per_trace=survey.sizes[SAMPLE],
            il_index=il[order],
            xl_index=xl[order],
            trace_headers=_reader(read, il[order], xl[order]),
            kept_in=store,
        )
        if template.headers_checksum() == seismic["checksum"]:
            log.info("%s: SEG-Y headers of %s, as the store kept them", store, template.source.name)
            return template
    raise KeptHeadersError(
        store,
        "the headers it keeps do not reproduce its source's (its record's checksum): the "
        "store was changed, or the source's trace order cannot be recovered",
    )


def _reader(read, il: np.ndarray, xl: np.ndarray):
    def headers(start: int, stop: int) -> np.ndarray:
        return gather_cells(read, il[start:stop], xl[start:stop], SLAB_BYTES)

    return headers


def _cells(headers: xr.Variable, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Cells that hold a trace (a header not all zeros) and each one's trace sequence
    number in the file (bytes 5-8), read a slab of inlines at a time."""
    nil, nxl = headers.shape[:2]
    present = np.zeros((nil, nxl), dtype=bool)
    sequence = np.zeros((nil, nxl), dtype=np.int64)
    slab = max(1, SLAB_BYTES // max(1, nxl * headers.shape[2]))
    for lo in range(0, nil, slab):
        block = np.asarray(headers[lo : lo + slab].values)
        present[lo : lo + slab] = block.any(axis=-1)
        flat = block.reshape(-1, block.shape[-1])
        sequence[lo : lo + slab] = read_field(flat, TRACE_SEQUENCE_FILE, prefix).reshape(
            block.shape[:2]
        )
    return present, sequence


def _zero_header_trace(survey: xr.Dataset, present: np.ndarray, traces: object) -> None:
    """A trace whose header is all zeros reads inline 0, crossline 0: where the source
    held one trace more than there are headers not all zeros, and the grid has that cell,
    it is the trace's (the record's checksum proves it or refuses it)."""
    if not isinstance(traces, int) or traces != int(present.sum()) + 1:
        return
    il = np.flatnonzero(survey[INLINE].values == 0)
    xl = np.flatnonzero(survey[CROSSLINE].values == 0)
    if len(il) and len(xl) and not present[il[0], xl[0]]:
        present[il[0], xl[0]] = True


def _orders(il: np.ndarray, xl: np.ndarray, sequence: np.ndarray, sorting: str) -> Iterator:
    """Candidate trace orders of the source (indices into ``il``, ``xl``), likeliest first:
    by trace sequence number where those are unique, then the file's sorting with either
    direction along each axis (``il``, ``xl`` come in inline-major order)."""
    seen: list[np.ndarray] = []

    def new(order: np.ndarray) -> bool:
        if any(np.array_equal(order, old) for old in seen):
            return False
        seen.append(order)
        return True

    if len(np.unique(sequence)) == len(sequence):
        order = np.argsort(sequence, kind="stable")
        if new(order):
            yield order
    axes = {INLINE: (il, xl), CROSSLINE: (xl, il)}.get(sorting)
    if axes is None:
        return
    outer, inner = axes
    for outer_sign in (1, -1):
        for inner_sign in (1, -1):
            order = np.lexsort((inner_sign * inner, outer_sign * outer))
            if new(order):
                yield order
