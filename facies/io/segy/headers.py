"""Trace header fields and the textual header.

Field sizes come from segyio's table of standard trace header positions, so any
standard field can serve as the inline, crossline or offset key.
"""

from __future__ import annotations

import numpy as np
import segyio

from facies.errors import ConfigError
from facies.io.segy.layout import TRACE_HEADER_SIZE, plain_characters


def _field_sizes() -> dict[int, int]:
    starts = sorted({v for k, v in vars(segyio.TraceField).items() if isinstance(v, int) and v > 0})
    ends = [*starts[1:], TRACE_HEADER_SIZE + 1]
    return {s: e - s for s, e in zip(starts, ends, strict=True) if e - s in (2, 4)}


#: Standard trace header field start byte (1-based) -> size in bytes.
FIELD_SIZES: dict[int, int] = _field_sizes()

SAMPLES_FIELD = 115
INTERVAL_FIELD = 117
DELAY_FIELD = 109
TIME_SCALAR_FIELD = 215
COORD_SCALAR_FIELD = 71
CDP_X_FIELD = 181
CDP_Y_FIELD = 185
SOURCE_X_FIELD = 73
SOURCE_Y_FIELD = 77


def field_size(byte: int) -> int:
    """Size of the standard trace header field starting at ``byte``."""
    size = FIELD_SIZES.get(byte)
    if size is None:
        near = sorted(FIELD_SIZES, key=lambda b: abs(b - byte))[:3]
        raise ConfigError(
            f"trace header byte {byte} is not the start of a standard SEG-Y trace header "
            f"field; the nearest are {near}. Common inline/crossline pairs: 189/193 "
            "(rev 1), 9/21, 5/21."
        )
    return size


def read_field(headers: np.ndarray, byte: int, prefix: str) -> np.ndarray:
    """One field of every trace header as int32 (every standard field fits).

    Args:
        headers: uint8 ``(traces, 240)``, last axis contiguous (memory-map views are fine).
        byte: 1-based start byte of a standard field.
        prefix: ``">"`` or ``"<"``.
    """
    size = field_size(byte)
    columns = np.ascontiguousarray(headers[:, byte - 1 : byte - 1 + size])
    return columns.view(f"{prefix}i{size}")[:, 0].astype(np.int32)


def apply_scalar(values: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """Apply a SEG-Y scalar: positive multiplies, negative divides, zero means one."""
    scalar = np.asarray(scalar, dtype=np.float64)
    factor = np.ones_like(scalar)
    factor[scalar > 0] = scalar[scalar > 0]
    factor[scalar < 0] = -1.0 / scalar[scalar < 0]
    return values * factor


def decode_text(raw: bytes) -> str:
    """Decode a 3200-byte textual header, EBCDIC or ASCII, as 40 lines of 80 columns."""
    ebcdic, ascii_ = raw.decode("cp037"), raw.decode("latin-1")
    text = ebcdic if plain_characters(ebcdic) > plain_characters(ascii_) else ascii_
    text = text.replace("\x00", " ")
    lines = [text[i : i + 80].rstrip() for i in range(0, len(text), 80)]
    return "\n".join(lines).rstrip()
