"""Where things sit in a SEG-Y file: block sizes and the header bytes facies uses, named once.

Byte positions are 1-based, as the SEG-Y standard (and segyio's ``TraceField`` and
``BinField``) number them: trace header fields count from the start of the 240-byte
trace header, binary header fields from the start of the file (3201-3600). Every
module that reads or writes a header byte takes its position from here; error
messages quote these numbers too, so they always name the byte that was read.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------ blocks

TEXT_HEADER_SIZE = 3200
BINARY_HEADER_SIZE = 400
TRACE_HEADER_SIZE = 240
FILE_HEADER_SIZE = TEXT_HEADER_SIZE + BINARY_HEADER_SIZE
#: First byte of the binary header (binary header fields are numbered from the file start).
BINARY_HEADER_START = TEXT_HEADER_SIZE + 1
#: Columns of one line ("card") of a textual header, and its number of cards.
CARD = 80
CARDS = 40

# ------------------------------------------------------------------ trace header fields

TRACE_SEQUENCE_LINE = 1
TRACE_SEQUENCE_FILE = 5
FIELD_RECORD = 9
#: Ensemble (CDP) number.
CDP = 21
TRACE_IDENTIFICATION_CODE = 29
OFFSET = 37
COORDINATE_SCALAR = 71
SOURCE_X = 73
SOURCE_Y = 77
DELAY = 109
SAMPLE_COUNT = 115
SAMPLE_INTERVAL = 117
CDP_X = 181
CDP_Y = 185
INLINE_3D = 189
CROSSLINE_3D = 193
#: Scalar applied to the times of bytes 95-114 (the delay among them).
TIME_SCALAR = 215

#: Inline/crossline byte pairs met in practice, for the hints of error messages.
COMMON_LINE_PAIRS = ((INLINE_3D, CROSSLINE_3D), (FIELD_RECORD, CDP), (TRACE_SEQUENCE_FILE, CDP))

_FOUR_BYTE = (1, 5, 9, 13, 17, 21, 25, 37, 41, 45, 49, 53, 57, 61, 65, 73, 77, 81, 85)
_FOUR_BYTE += (181, 185, 189, 193, 197, 205, 219, 225, 233, 237)
_TWO_BYTE = (*range(29, 37, 2), 69, 71, *range(89, 181, 2), 201, 203, *range(209, 219, 2))
_TWO_BYTE += (223, 229, 231)
#: Start byte -> width in bytes of every standard trace header field, as segyio lays
#: them out (219 and 225 are the 4-byte mantissas of 6-byte rev 1 fields), so any
#: standard field can serve as the inline, crossline or offset key.
FIELD_SIZES: dict[int, int] = dict(
    sorted({**dict.fromkeys(_FOUR_BYTE, 4), **dict.fromkeys(_TWO_BYTE, 2)}.items())
)

# ----------------------------------------------------------------- binary header fields

#: Width of every binary header field facies reads or writes (2-byte integers).
BIN_FIELD_SIZE = 2
BIN_SAMPLE_INTERVAL = 3217
BIN_SAMPLE_COUNT = 3221
#: Sample format code (see :mod:`facies.io.segy.formats`).
BIN_FORMAT = 3225
#: SEG-Y revision: major number in this byte, minor in the next (one byte each).
BIN_REVISION = 3501
#: SEG-Y rev 2 byte-order word (bytes 3297-3300): 16909060 (0x01020304) as the file stores
#: its integers, so a reader tells little- from big-endian files.
BIN_BYTE_ORDER = 3297
BYTE_ORDER_WORD = 0x01020304
#: Fixed-length-trace flag (1: every trace has the binary header's sample count).
BIN_FIXED_LENGTH = 3503
#: Number of 3200-byte extended textual headers (-1: variable, ended by a stanza).
BIN_EXTENDED_HEADERS = 3505
#: Rev 2: additional 240-byte trace headers per trace.
BIN_EXTRA_TRACE_HEADERS = 3507


def bin_index(byte: int) -> int:
    """Index of binary header byte ``byte`` (1-based, file numbering) in the 400-byte block."""
    return byte - BINARY_HEADER_START


def line_pairs_hint(first_note: str = "") -> str:
    """The common inline/crossline byte pairs as text, e.g. ``"189/193, 9/21, 5/21"``."""
    pairs = [f"{il}/{xl}" for il, xl in COMMON_LINE_PAIRS]
    pairs[0] += first_note
    return ", ".join(pairs)
