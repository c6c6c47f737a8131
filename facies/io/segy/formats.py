"""SEG-Y sample formats (rev 2, binary header bytes 3225-3226) and their decoding.

Every code SEG-Y rev 2 defines is either decoded here or refused with a clear
error. segyio 1.9 reads codes 4, 7 and 15 as IBM floats without raising, so those
never go through segyio: 7 and 15 (24-bit integers) are decoded with numpy, and 4
(obsolete fixed point with gain) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facies.errors import SegyFormatError
from facies.io.segy.fields import BIN_FORMAT


@dataclass(frozen=True)
class SampleFormat:
    """One SEG-Y sample format: its code, size in bytes and numpy kind."""

    code: int
    name: str
    size: int
    kind: str | None  # numpy type without byte order; None where numpy has none
    supported: bool = True


SAMPLE_FORMATS: dict[int, SampleFormat] = {
    f.code: f
    for f in (
        SampleFormat(1, "4-byte IBM floating point", 4, None),
        SampleFormat(2, "4-byte two's complement integer", 4, "i4"),
        SampleFormat(3, "2-byte two's complement integer", 2, "i2"),
        SampleFormat(4, "4-byte fixed point with gain (obsolete)", 4, None, supported=False),
        SampleFormat(5, "4-byte IEEE floating point", 4, "f4"),
        SampleFormat(6, "8-byte IEEE floating point", 8, "f8"),
        SampleFormat(7, "3-byte two's complement integer", 3, None),
        SampleFormat(8, "1-byte two's complement integer", 1, "i1"),
        SampleFormat(9, "8-byte two's complement integer", 8, "i8"),
        SampleFormat(10, "4-byte unsigned integer", 4, "u4"),
        SampleFormat(11, "2-byte unsigned integer", 2, "u2"),
        SampleFormat(12, "8-byte unsigned integer", 8, "u8"),
        SampleFormat(15, "3-byte unsigned integer", 3, None),
        SampleFormat(16, "1-byte unsigned integer", 1, "u1"),
    )
}

IBM_FLOAT = 1
IEEE_FLOAT = 5
INT16 = 3


def sample_format(code: int, path: Path | str = "") -> SampleFormat:
    """The format for ``code``, or a SegyFormatError saying why it cannot be read."""
    fmt = SAMPLE_FORMATS.get(code)
    if fmt is None:
        raise SegyFormatError(
            f"{path}: unknown sample format code {code} (binary header byte {BIN_FORMAT}); "
            f"SEG-Y rev 2 defines {sorted(SAMPLE_FORMATS)}. The binary header is corrupt, or the "
            "byte order is wrong (try endian=big or endian=little)."
        )
    if not fmt.supported:
        raise SegyFormatError(
            f"{path}: sample format {code} ({fmt.name}) is not supported; convert the file "
            "to IEEE float (format 5) or IBM float (format 1) first."
        )
    return fmt


def decode_into(raw: np.ndarray, code: int, endian: str, out: np.ndarray) -> None:
    """Decode raw sample bytes into float32.

    Args:
        raw: uint8 array ``(traces, samples * size)`` whose last axis is contiguous
            (a strided view of a memory map is fine).
        code: SEG-Y sample format code.
        endian: ``"big"`` or ``"little"``.
        out: float32 C-contiguous array ``(traces, samples)`` to write into.
    """
    fmt = SAMPLE_FORMATS[code]
    prefix = ">" if endian == "big" else "<"
    if code == IBM_FLOAT:
        _decode_ibm(raw, endian, out)
    elif fmt.kind is not None:
        np.copyto(out, raw.view(prefix + fmt.kind), casting="unsafe")
    else:
        _decode_int24(raw, endian, signed=code == 7, out=out)


def _decode_ibm(raw: np.ndarray, endian: str, out: np.ndarray) -> None:
    import segyio._segyio
    import segyio.tools  # segyio's C conversion; expects big-endian IBM words

    np.copyto(out.view(np.uint8).reshape(raw.shape), raw)
    if endian == "little":
        out.view(np.uint32).byteswap(inplace=True)
    segyio.tools.native(out, IBM_FLOAT, copy=False)


def _decode_int24(raw: np.ndarray, endian: str, signed: bool, out: np.ndarray) -> None:
    b = raw.reshape(raw.shape[0], -1, 3).astype(np.int32)
    hi, mid, lo = (
        (b[..., 0], b[..., 1], b[..., 2])
        if endian == "big"
        else (
            b[..., 2],
            b[..., 1],
            b[..., 0],
        )
    )
    value = (hi << 16) | (mid << 8) | lo
    if signed:
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
    out[...] = value


def encode(values: np.ndarray, code: int, endian: str) -> np.ndarray:
    """Encode values as SEG-Y samples of format ``code`` (IEEE float or integers)."""
    fmt = SAMPLE_FORMATS[code]
    if fmt.kind is None:
        raise SegyFormatError(f"writing sample format {code} ({fmt.name}) is not supported.")
    prefix = ">" if endian == "big" else "<"
    return values.astype(prefix + fmt.kind, copy=False)
