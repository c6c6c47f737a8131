"""Write new trace values into a copy of a template SEG-Y file.

The template is a SEG-Y file, or what a survey store kept of one
(:mod:`facies.io.segy.template`). Textual, binary and trace headers are copied byte
for byte, every trace in the template's order; only the sample-format
code (bytes 3225-3226) changes, to IEEE float (5) for float values or 2-byte
integer (3) for integer values such as facies labels, and the last card of the
textual header carries facies' mark (:func:`facies.io.outputs.mark_textual_header`),
by which ``overwrite`` knows the file for facies' own. The file is written to a
temporary file beside ``out``, checked, synced and renamed, so a failure leaves
nothing at ``out``; where it may be written follows :mod:`facies.io.outputs`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from facies.errors import FaciesError, OutputError
from facies.io import outputs
from facies.io.atomic import atomic_target
from facies.io.conventions import facies_names
from facies.io.segy.fields import (
    BIN_BYTE_ORDER,
    BIN_FIELD_SIZE,
    BIN_FORMAT,
    BIN_SAMPLE_COUNT,
    BYTE_ORDER_WORD,
    CARD,
    CARDS,
    SAMPLE_COUNT,
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
)
from facies.io.segy.formats import IEEE_FLOAT, INT16, SAMPLE_FORMATS, encode
from facies.io.segy.reader import BLOCK_BYTES
from facies.io.segy.scan import SegyScan, scan_segy
from facies.io.segy.template import SegyTemplate, as_template, template_of_scan
from facies.names import CROSSLINE, INLINE

log = logging.getLogger(__name__)


def write_segy_like(
    template: str | os.PathLike,
    values: np.ndarray | xr.DataArray,
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    **options: Any,
) -> Path:
    """Write ``values`` as a SEG-Y file with the template's headers.

    Args:
        template: the SEG-Y file whose headers and geometry the output takes.
        values: (inline, crossline, sample) array on the template's grid (as
            :func:`facies.io.open_segy` reads it). Integer values are written as
            2-byte integers, anything else as 4-byte IEEE floats. Dead cells
            (no trace in the template) are not written.
        out: the new file; never the template itself, nor any of ``inputs``.
        overwrite: replace an existing ``out`` if facies wrote it (its textual header
            carries facies' mark); anything else is refused.
        inputs: other inputs of the run, which ``out`` must not be (or hold).
        **options: geometry options for reading the template (``iline``, ``xline``,
            ``endian``, ...), as for :func:`facies.io.open_segy`.

    Returns:
        The path written.
    """
    out = Path(out)
    scan = scan_segy(template, **options)
    cube, code = _prepare_values(values, scan)
    layout = template_of_scan(scan)
    _check_target(layout, out, overwrite, inputs, code)
    return _write_atomic(layout, lambda il, xl: cube[il, xl], code, out)


def write_segy_streamed(
    template: SegyScan | SegyTemplate,
    values_at: Callable[[np.ndarray, np.ndarray], np.ndarray],
    out: str | os.PathLike,
    *,
    integer: bool,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    key: str = "output",
    text: list[str] | None = None,
) -> Path:
    """Like :func:`write_segy_like`, with values fetched block by block (bounded memory).

    Args:
        template: the template: a SEG-Y file scanned with :func:`facies.io.scan_segy`,
            or a :class:`~facies.io.segy.template.SegyTemplate` (what a store kept).
        values_at: returns the (k, samples) values of grid cells ``(il_index, xl_index)``
            (k of them, in the template's trace order).
        out: the new file.
        integer: write 2-byte integers (labels) instead of IEEE floats.
        overwrite: replace an existing ``out`` if facies wrote it.
        inputs: other inputs of the run, which ``out`` must not be (or hold).
        key: the option that named ``out``, for messages.
        text: lines that say what the file holds (:func:`textual_header`); the template's
            textual header is kept below them. None keeps the template's text as it is.
    """
    out = Path(out)
    code = INT16 if integer else IEEE_FLOAT
    template = as_template(template)
    _check_target(template, out, overwrite, inputs, code, key)
    return _write_atomic(template, values_at, code, out, key, text)


def _write_atomic(
    template: SegyTemplate,
    values_at: Callable,
    code: int,
    out: Path,
    key: str = "output",
    text: list[str] | None = None,
) -> Path:
    with outputs.writing_to(out, key), atomic_target(out) as tmp:
        expected = _write(template, values_at, code, tmp, text)
        size = tmp.stat().st_size
        if size != expected:
            raise OutputError(f"{out}: wrote {size} bytes where {expected} were expected.")
    log.info("wrote %s (%d traces, format %d)", out, template.trace_count, code)
    return out


def output_size(template: SegyScan | SegyTemplate, code: int) -> int:
    """Bytes of a SEG-Y file written like ``template`` in sample format ``code``."""
    if isinstance(template, SegyScan):
        layout = template.layout
        count, ns, offset = layout.trace_count, layout.samples_per_trace, layout.first_trace_offset
    else:
        count, ns = template.trace_count, template.samples_per_trace
        offset = template.first_trace_offset
    return offset + count * (TRACE_HEADER_SIZE + ns * SAMPLE_FORMATS[code].size)


def _check_target(
    template: SegyTemplate,
    out: Path,
    overwrite: bool,
    inputs: Iterable[str | os.PathLike | None] = (),
    code: int = INT16,
    key: str = "output",
) -> None:
    """The output rule (:func:`facies.io.outputs.prepare_output`), the template (the file
    or the store holding its headers) an input."""
    outputs.prepare_output(
        out,
        kind=outputs.FILE,
        overwrite=overwrite,
        inputs=(template.path, template.kept_in, *inputs),
        key=key,
        need_bytes=output_size(template, code),
        replaceable="facies SEG-Y file",
    )


def _prepare_values(values: np.ndarray | xr.DataArray, scan: SegyScan) -> tuple[np.ndarray, int]:
    expected = (*scan.grid.shape, scan.layout.samples_per_trace)
    if isinstance(values, xr.DataArray):
        # segysak's (iline, xline, samples), MDIO's (..., time) or any order: facies' names,
        # transposed; dims it cannot map are refused (never written transposed)
        values = facies_names(values)
        for name, axis in ((INLINE, scan.grid.inlines), (CROSSLINE, scan.grid.crosslines)):
            if name in values.coords and not np.array_equal(values[name].values, axis):
                raise FaciesError(
                    f"the values' {name} coordinates ({values[name].values[0]}.."
                    f"{values[name].values[-1]}, {values[name].size}) differ from the "
                    f"template's ({axis[0]}..{axis[-1]}, {axis.size})."
                )
        values = values.values
    values = np.asarray(values)
    if values.shape != expected:
        raise FaciesError(
            f"values of shape {values.shape} do not fit the template "
            f"{scan.layout.path}, whose grid is (inline, crossline, sample) = {expected}."
        )
    if np.issubdtype(values.dtype, np.integer) or values.dtype == bool:
        info = np.iinfo(np.int16)
        if values.size and (values.min() < info.min or values.max() > info.max):
            raise FaciesError(
                f"integer values {values.min()}..{values.max()} do not fit 2-byte SEG-Y "
                "integers; pass them as float to write IEEE floats."
            )
        return values, INT16
    return values, IEEE_FLOAT


def textual_header(template_text: bytes, lines: list[str]) -> bytes:
    """A 3200-byte textual header: ``lines`` (what the file holds) as the first cards, the
    template's own cards after them as far as they fit, in the template's encoding (EBCDIC
    or ASCII), each card starting ``C nn``. facies' mark goes into the last card."""
    encoding = outputs.text_encoding(template_text)
    old = template_text.decode(encoding)
    cards = [f"C{k + 1:2d} {line}" for k, line in enumerate(lines)]
    room = CARDS - len(cards) - 1
    template_cards = [old[i : i + CARD].rstrip() for i in range(0, len(old), CARD)]
    template_cards = [c for c in template_cards if c.strip() and not c.strip().startswith(
        ("C40 END", "C40 FACIES", "C 40"))]  # fmt: skip
    if room > 1 and template_cards:
        cards.append(f"C{len(cards) + 1:2d} ---- the input's textual header:")
        for card in template_cards[: room - 1]:
            body = card[3:].strip() if card[:1] == "C" else card.strip()
            cards.append(f"C{len(cards) + 1:2d} {body}")
    text = "".join(card[:CARD].ljust(CARD) for card in cards).ljust(TEXT_HEADER_SIZE)
    head = bytearray(text.encode(encoding, errors="replace"))
    outputs.mark_textual_header(head)
    return bytes(head)


def _write(
    template: SegyTemplate,
    values_at: Callable,
    code: int,
    target: Path,
    text: list[str] | None = None,
) -> int:
    ns, endian, count = template.samples_per_trace, template.endian, template.trace_count
    fmt = SAMPLE_FORMATS[code]
    out_dtype = np.dtype(
        [("header", "u1", (TRACE_HEADER_SIZE,)), ("data", template.prefix + fmt.kind, (ns,))]
    )
    head = bytearray(template.head)
    if text is not None:
        head[:TEXT_HEADER_SIZE] = textual_header(bytes(head[:TEXT_HEADER_SIZE]), text)
    outputs.mark_textual_header(head)

    def put(byte: int, value: int, size: int = BIN_FIELD_SIZE) -> None:
        head[byte - 1 : byte - 1 + size] = value.to_bytes(size, endian, signed=True)

    put(BIN_FORMAT, code)
    put(BIN_SAMPLE_COUNT, ns)  # what the traces hold, whatever the template said
    if endian == "little":  # rev 2's byte-order word, so readers can tell
        put(BIN_BYTE_ORDER, BYTE_ORDER_WORD, 4)
    sample_count = ns.to_bytes(2, endian, signed=False)
    step = max(1, BLOCK_BYTES // out_dtype.itemsize)
    with target.open("wb") as fh:
        fh.write(head)
        for start in range(0, count, step):
            stop = min(start + step, count)
            block = np.empty(stop - start, dtype=out_dtype)
            headers = template.trace_headers(start, stop)
            block["header"] = headers
            del headers  # a memory map of the template: its pages are dropped
            # byte 115 says what the trace holds (templates have been seen to say otherwise)
            block["header"][:, SAMPLE_COUNT - 1 : SAMPLE_COUNT + 1] = np.frombuffer(
                sample_count, dtype=np.uint8
            )
            samples = values_at(template.il_index[start:stop], template.xl_index[start:stop])
            block["data"] = encode(samples, code, endian)
            fh.write(block.tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    return template.first_trace_offset + count * out_dtype.itemsize
