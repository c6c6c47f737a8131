"""Header byte positions: named once, and the same as segyio's."""

from __future__ import annotations

import segyio

from facies.io.segy import fields


def test_field_sizes_match_segyio_table():
    starts = sorted({v for v in vars(segyio.TraceField).values() if isinstance(v, int) and v > 0})
    ends = [*starts[1:], fields.TRACE_HEADER_SIZE + 1]
    segyio_sizes = {s: e - s for s, e in zip(starts, ends, strict=True)}
    assert segyio_sizes == fields.FIELD_SIZES
    assert starts == list(fields.FIELD_SIZES)


#: Our name -> segyio's (TraceField, or BinField for BIN_*).
SEGYIO_NAMES = {
    "TRACE_SEQUENCE_LINE": "TRACE_SEQUENCE_LINE",
    "TRACE_SEQUENCE_FILE": "TRACE_SEQUENCE_FILE",
    "FIELD_RECORD": "FieldRecord",
    "CDP": "CDP",
    "TRACE_IDENTIFICATION_CODE": "TraceIdentificationCode",
    "OFFSET": "offset",
    "COORDINATE_SCALAR": "SourceGroupScalar",
    "SOURCE_X": "SourceX",
    "SOURCE_Y": "SourceY",
    "DELAY": "DelayRecordingTime",
    "SAMPLE_COUNT": "TRACE_SAMPLE_COUNT",
    "SAMPLE_INTERVAL": "TRACE_SAMPLE_INTERVAL",
    "CDP_X": "CDP_X",
    "CDP_Y": "CDP_Y",
    "INLINE_3D": "INLINE_3D",
    "CROSSLINE_3D": "CROSSLINE_3D",
    "TIME_SCALAR": "ScalarTraceHeader",
    "BIN_SAMPLE_INTERVAL": "Interval",
    "BIN_SAMPLE_COUNT": "Samples",
    "BIN_FORMAT": "Format",
    "BIN_REVISION": "SEGYRevision",
    "BIN_FIXED_LENGTH": "TraceFlag",
    "BIN_EXTENDED_HEADERS": "ExtendedHeaders",
    "BIN_EXTRA_TRACE_HEADERS": "Unassigned2",  # rev 2: additional trace headers
}


def test_named_positions_match_segyio():
    ours = {name: getattr(fields, name) for name in SEGYIO_NAMES}
    theirs = {
        name: getattr(segyio.BinField if name.startswith("BIN_") else segyio.TraceField, other)
        for name, other in SEGYIO_NAMES.items()
    }
    assert theirs == ours


def test_binary_positions_index_the_400_byte_block():
    assert fields.bin_index(fields.BINARY_HEADER_START) == 0
    assert fields.bin_index(fields.BIN_FORMAT) == 24
    assert fields.FILE_HEADER_SIZE == 3600


def test_line_pairs_hint():
    assert fields.line_pairs_hint() == "189/193, 9/21, 5/21"
    assert fields.line_pairs_hint(" (rev 1)") == "189/193 (rev 1), 9/21, 5/21"
