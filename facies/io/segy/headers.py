"""Decoding trace header fields and the textual header.

Field positions and widths are in :mod:`facies.io.segy.fields`.
"""

from __future__ import annotations

import numpy as np

from facies.errors import ConfigError
from facies.io.segy.fields import CARD, FIELD_SIZES, line_pairs_hint
from facies.io.segy.layout import plain_characters


def field_size(byte: int) -> int:
    """Size of the standard trace header field starting at ``byte``."""
    size = FIELD_SIZES.get(byte)
    if size is None:
        near = sorted(FIELD_SIZES, key=lambda b: abs(b - byte))[:3]
        raise ConfigError(
            f"trace header byte {byte} is not the start of a standard SEG-Y trace header "
            f"field; the nearest are {near}. Common inline/crossline pairs: "
            f"{line_pairs_hint(' (rev 1)')}."
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
    lines = [text[i : i + CARD].rstrip() for i in range(0, len(text), CARD)]
    return "\n".join(lines).rstrip()
