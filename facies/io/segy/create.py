"""Create a new post-stack SEG-Y file from an (inline, crossline, sample) cube.

Used by the synthetic survey generator and by the tests, which make tiny files in
every sample format, byte order and trace order with values that encode
(inline, crossline, sample). :func:`create_segy` takes the whole cube;
:func:`inline_block_writer` and :func:`write_segy_blocks` take it a block of
inlines at a time, for surveys larger than memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facies.errors import FaciesError
from facies.io.atomic import atomic_target
from facies.io.segy import fields
from facies.io.segy.formats import IBM_FLOAT, SAMPLE_FORMATS, sample_format
from facies.io.segy.headers import field_size


@dataclass(frozen=True)
class SegySpec:
    """How to lay out a new SEG-Y file."""

    sample_interval_us: int = 4000
    delay_ms: int = 0
    format_code: int = 5
    endian: str = "big"
    sorting: str = "inline"  # "inline", "crossline" or "shuffled"
    iline_byte: int = fields.INLINE_3D
    xline_byte: int = fields.CROSSLINE_3D
    coord_scalar: int = -100
    seed: int = 0  # for "shuffled"
    text: str = "facies: SEG-Y written by facies.io.segy.create"


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """Encode floats as big-endian IBM hexadecimal floats (uint32 words, native order)."""
    x = np.asarray(values, dtype=np.float64)
    a = np.abs(x)
    exponent = np.zeros(a.shape, dtype=np.int64)
    nonzero = a > 0
    exponent[nonzero] = np.floor(np.log2(a[nonzero]) / 4).astype(np.int64) + 1
    fraction = np.rint(a / 16.0**exponent * 2**24).astype(np.int64)
    carry = fraction >= 2**24
    fraction[carry] >>= 4
    exponent[carry] += 1
    biased = np.clip(exponent + 64, 0, 127)
    fraction[~nonzero] = 0
    biased[~nonzero] = 0
    sign = (x < 0).astype(np.int64)
    return ((sign << 31) | (biased << 24) | fraction).astype(np.uint32)


def _encode(cube: np.ndarray, code: int, endian: str) -> np.ndarray:
    prefix = ">" if endian == "big" else "<"
    fmt = SAMPLE_FORMATS[code]
    if code == IBM_FLOAT:
        return ieee_to_ibm(cube).astype(prefix + "u4")
    if fmt.kind is not None:
        return cube.astype(prefix + fmt.kind)
    value = np.rint(cube).astype(np.int64) & 0xFFFFFF
    parts = [(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF]
    if endian == "little":
        parts.reverse()
    return np.stack(parts, axis=-1).astype(np.uint8).reshape(*cube.shape[:-1], -1)


def _put(header: np.ndarray, byte: int, values: np.ndarray | int, prefix: str) -> None:
    size = field_size(byte)
    column = np.broadcast_to(np.asarray(values), header.shape[:1]).astype(f"{prefix}i{size}")
    header[:, byte - 1 : byte - 1 + size] = column.view(np.uint8).reshape(-1, size)


def _text_header(text: str) -> bytes:
    card, cards = fields.CARD, fields.CARDS
    lines = [f"C{i + 1:2d} {line}"[:card].ljust(card) for i, line in enumerate(text.splitlines())]
    # 40 card images of 80 columns, EBCDIC as the standard asks
    lines += [f"C{i + 1:2d}".ljust(card) for i in range(len(lines), cards)]
    return "".join(lines[:cards]).encode("cp037")


def create_segy(
    path: str | os.PathLike,
    cube: np.ndarray,
    inlines: np.ndarray,
    crosslines: np.ndarray,
    *,
    live: np.ndarray | None = None,
    cdp_x: np.ndarray | None = None,
    cdp_y: np.ndarray | None = None,
    spec: SegySpec = SegySpec(),
    trace_id: np.ndarray | int | None = None,
) -> Path:
    """Write ``cube`` (inline, crossline, sample) as a SEG-Y file, atomically.

    Args:
        path: the file to write.
        cube: the samples; encoded in ``spec.format_code``.
        inlines, crosslines: line numbers of the cube's first two axes.
        live: (inline, crossline) mask; cells where it is False get no trace.
        cdp_x, cdp_y: (inline, crossline) coordinates, scaled by ``spec.coord_scalar``.
        spec: layout of the file.
        trace_id: trace identification codes (bytes 29-30), one for every trace or an
            (inline, crossline) array of them (2: dead, 1: seismic data); 0 (unknown)
            where not given.
    """
    nil, nxl, ns = cube.shape
    if (len(inlines), len(crosslines)) != (nil, nxl):
        raise FaciesError(
            f"{len(inlines)} inlines and {len(crosslines)} crosslines for a cube of {cube.shape}."
        )
    sample_format(spec.format_code, path)
    live = np.ones((nil, nxl), dtype=bool) if live is None else live
    il_idx, xl_idx = np.nonzero(live)  # inline-major order
    if spec.sorting == "crossline":
        order = np.lexsort((il_idx, xl_idx))
        il_idx, xl_idx = il_idx[order], xl_idx[order]
    elif spec.sorting == "shuffled":
        order = np.random.default_rng(spec.seed).permutation(len(il_idx))
        il_idx, xl_idx = il_idx[order], xl_idx[order]
    geometry = _Geometry(np.asarray(inlines), np.asarray(crosslines), ns, cdp_x, cdp_y, spec)
    records = _records(geometry, il_idx, xl_idx, cube[il_idx, xl_idx], first_trace=0)
    if trace_id is not None:
        codes = np.broadcast_to(np.asarray(trace_id), (nil, nxl))[il_idx, xl_idx]
        prefix = ">" if spec.endian == "big" else "<"
        headers = records[:, : fields.TRACE_HEADER_SIZE]  # a view: writes go to records
        _put(headers, fields.TRACE_IDENTIFICATION_CODE, codes, prefix)
    path = Path(path)
    with atomic_target(path) as tmp, tmp.open("wb") as fh:
        fh.write(_text_header(spec.text))
        fh.write(_binary_header(spec, ns))
        fh.write(records.tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    return path


@contextmanager
def inline_block_writer(
    path: str | os.PathLike,
    inlines: np.ndarray,
    crosslines: np.ndarray,
    n_samples: int,
    *,
    cdp_x: np.ndarray | None = None,
    cdp_y: np.ndarray | None = None,
    spec: SegySpec = SegySpec(),
) -> Iterator[Callable[[np.ndarray], None]]:
    """Write a full inline-sorted SEG-Y file block by block, so memory is bounded by a block.

    Yields a function that takes the next block of whole inlines, shaped
    (inlines in block, crosslines, samples), in order. The file appears at ``path``
    only when the ``with`` block ends with every inline written; an exception or a
    missing inline leaves nothing there. Headers are those :func:`create_segy`
    writes for the same cube.

    Args:
        path: the file to write.
        inlines, crosslines: line numbers of the whole survey's first two axes.
        n_samples: samples per trace.
        cdp_x, cdp_y: (inline, crossline) coordinates of the whole survey.
        spec: layout of the file; ``spec.sorting`` must be "inline".
    """
    if spec.sorting != "inline":
        raise FaciesError(
            f"inline_block_writer writes inline-sorted files, not {spec.sorting!r}; "
            "use create_segy for other trace orders."
        )
    sample_format(spec.format_code, path)
    geometry = _Geometry(np.asarray(inlines), np.asarray(crosslines), n_samples, cdp_x, cdp_y, spec)
    nil, nxl = len(geometry.inlines), len(geometry.crosslines)
    done = 0
    path = Path(path)
    with atomic_target(path) as tmp, tmp.open("wb") as fh:
        fh.write(_text_header(spec.text))
        fh.write(_binary_header(spec, n_samples))

        def write(block: np.ndarray) -> None:
            nonlocal done
            block = np.asarray(block)
            if block.ndim != 3 or block.shape[1:] != (nxl, n_samples) or done + len(block) > nil:
                raise FaciesError(
                    f"{path}: a block of shape {block.shape} after {done} of {nil} inlines; "
                    f"expected (k, {nxl}, {n_samples}) with k <= {nil - done}."
                )
            il_idx = np.repeat(np.arange(done, done + len(block)), nxl)
            xl_idx = np.tile(np.arange(nxl), len(block))
            traces = block.reshape(-1, n_samples)
            fh.write(_records(geometry, il_idx, xl_idx, traces, first_trace=done * nxl).tobytes())
            done += len(block)

        yield write
        if done != nil:
            raise FaciesError(f"{path}: only {done} of {nil} inlines were written; no file made.")
        fh.flush()
        os.fsync(fh.fileno())


def write_segy_blocks(
    path: str | os.PathLike,
    blocks: Iterable[np.ndarray],
    inlines: np.ndarray,
    crosslines: np.ndarray,
    n_samples: int,
    **options: Any,
) -> Path:
    """Write an iterator of inline blocks as one inline-sorted SEG-Y file, atomically.

    Args:
        path: the file to write.
        blocks: (inlines in block, crosslines, samples) arrays, in inline order.
        inlines, crosslines, n_samples: the whole survey's geometry.
        **options: ``cdp_x``, ``cdp_y`` and ``spec``, as for :func:`inline_block_writer`.
    """
    with inline_block_writer(path, inlines, crosslines, n_samples, **options) as write:
        for block in blocks:
            write(block)
    return Path(path)


@dataclass(frozen=True)
class _Geometry:
    inlines: np.ndarray
    crosslines: np.ndarray
    n_samples: int
    cdp_x: np.ndarray | None
    cdp_y: np.ndarray | None
    spec: SegySpec


def _records(
    geo: _Geometry, il_idx: np.ndarray, xl_idx: np.ndarray, traces: np.ndarray, first_trace: int
) -> np.ndarray:
    """Trace headers and encoded samples of the traces at (il_idx, xl_idx), as bytes per row."""
    spec, ntr, nxl = geo.spec, len(il_idx), len(geo.crosslines)
    prefix = ">" if spec.endian == "big" else "<"
    data = _encode(traces, spec.format_code, spec.endian).view(np.uint8)
    header = np.zeros((ntr, fields.TRACE_HEADER_SIZE), dtype=np.uint8)
    sequence = np.arange(first_trace + 1, first_trace + ntr + 1)
    _put(header, fields.TRACE_SEQUENCE_LINE, sequence, prefix)
    _put(header, fields.TRACE_SEQUENCE_FILE, sequence, prefix)
    _put(header, fields.CDP, il_idx * nxl + xl_idx + 1, prefix)
    _put(header, spec.iline_byte, geo.inlines[il_idx], prefix)
    _put(header, spec.xline_byte, geo.crosslines[xl_idx], prefix)
    _put(header, fields.COORDINATE_SCALAR, spec.coord_scalar, prefix)
    factor = -spec.coord_scalar if spec.coord_scalar < 0 else 1.0 / max(spec.coord_scalar, 1)
    for byte, coords in ((fields.CDP_X, geo.cdp_x), (fields.CDP_Y, geo.cdp_y)):
        if coords is not None:
            _put(header, byte, np.rint(coords[il_idx, xl_idx] * factor).astype(np.int64), prefix)
    _put(header, fields.DELAY, spec.delay_ms, prefix)
    _put(header, fields.SAMPLE_COUNT, geo.n_samples, prefix)
    _put(header, fields.SAMPLE_INTERVAL, spec.sample_interval_us, prefix)
    return np.concatenate([header, data.reshape(ntr, -1)], axis=1)


def _binary_header(spec: SegySpec, ns: int) -> bytes:
    binary = np.zeros(fields.BINARY_HEADER_SIZE, dtype=np.uint8)
    size = fields.BIN_FIELD_SIZE

    def put(byte: int, value: int) -> None:
        start = fields.bin_index(byte)
        binary[start : start + size] = np.frombuffer(
            int(value).to_bytes(size, spec.endian, signed=False), dtype=np.uint8
        )

    put(fields.BIN_SAMPLE_INTERVAL, spec.sample_interval_us)
    put(fields.BIN_SAMPLE_COUNT, ns)
    put(fields.BIN_FORMAT, spec.format_code)
    binary[fields.bin_index(fields.BIN_REVISION)] = 1  # SEG-Y revision 1.0
    put(fields.BIN_FIXED_LENGTH, 1)  # every trace has the binary header's sample count
    return binary.tobytes()
