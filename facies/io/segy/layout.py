"""Where everything sits in a SEG-Y file: headers, trace size, trace count.

Reads only the first 3600 bytes (plus extended textual headers) and the file size,
and refuses anything that does not add up, with the numbers and the fix. Nothing
here reads trace data.
"""

from __future__ import annotations

import logging
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from facies.errors import SegyFormatError
from facies.io.segy.fields import (
    BIN_EXTENDED_HEADERS,
    BIN_EXTRA_TRACE_HEADERS,
    BIN_FIELD_SIZE,
    BIN_FORMAT,
    BIN_REVISION,
    BIN_SAMPLE_COUNT,
    BIN_SAMPLE_INTERVAL,
    CARD,
    FIELD_SIZES,
    FILE_HEADER_SIZE,
    SAMPLE_COUNT,
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
)
from facies.io.segy.formats import SAMPLE_FORMATS, sample_format

log = logging.getLogger(__name__)

END_TEXT_STANZA = re.compile(rb"\(\(\s*seg\s*:\s*endtext\s*\)\)", re.IGNORECASE)
#: How a rev 2 stanza starts, in ASCII and in EBCDIC; its data may be binary.
STANZA_START = (b"((", "((".encode("cp037"))

Endian = Literal["big", "little"]


@dataclass(frozen=True)
class SegyLayout:
    """The byte layout of a fixed-trace-length SEG-Y file."""

    path: Path
    file_size: int
    endian: Endian
    format_code: int
    samples_per_trace: int
    binary_interval: int
    ext_text_headers: int
    first_trace_offset: int
    trace_count: int
    revision: str

    @property
    def bytes_per_sample(self) -> int:
        return SAMPLE_FORMATS[self.format_code].size

    @property
    def trace_size(self) -> int:
        return TRACE_HEADER_SIZE + self.samples_per_trace * self.bytes_per_sample

    @property
    def prefix(self) -> str:
        return ">" if self.endian == "big" else "<"


def _int(raw: bytes, pos: int, size: int, prefix: str, signed: bool = True) -> int:
    code = {2: "h", 4: "i"}[size]
    code = code if signed else code.upper()
    return struct.unpack(prefix + code, raw[pos - 1 : pos - 1 + size])[0]


def detect_endian(raw: bytes, path: Path) -> Endian:
    """Endianness from the sample-format code: whichever byte order gives a known one."""
    big = _int(raw, BIN_FORMAT, BIN_FIELD_SIZE, ">")
    little = _int(raw, BIN_FORMAT, BIN_FIELD_SIZE, "<")
    if big in SAMPLE_FORMATS:
        return "big"
    if little in SAMPLE_FORMATS:
        return "little"
    plausible = [code for code in (big, little) if 0 < code < 256]
    if plausible:
        raise SegyFormatError(
            f"{path}: unknown sample format code {plausible[0]} (binary header byte "
            f"{BIN_FORMAT}); SEG-Y rev 2 defines {sorted(SAMPLE_FORMATS)}. The binary header "
            f"is corrupt or the file is not SEG-Y; fix the code at byte {BIN_FORMAT} if you know "
            "the format."
        )
    raise SegyFormatError(
        f"{path}: not a SEG-Y file we can read: the sample-format code at byte {BIN_FORMAT} "
        f"reads {big} (big-endian) or {little} (little-endian), and SEG-Y defines only "
        f"{sorted(SAMPLE_FORMATS)}. If this is a Seismic Unix (.su) file, convert it to "
        "SEG-Y first (e.g. segywrite); otherwise check that the file is SEG-Y at all."
    )


def plain_characters(text: str) -> int:
    """How many characters look like ordinary header text (letters, digits, blanks)."""
    return sum(c.isalnum() or c in " .,:;-=/()" for c in text if c.isascii())


def looks_like_text_header(block: bytes) -> bool:
    """Whether a 3200-byte block can be an extended textual header.

    Text (EBCDIC or ASCII, at least half of it ordinary characters), the start of a
    rev 2 stanza (whose data may be binary), or one byte repeated (a blank header).
    NULs that pad a card (80 columns) after its text are blanks, as
    :func:`facies.io.segy.headers.decode_text` reads them, and are not scored; NULs
    followed by other bytes on the same card are scored as binary (they are the zero
    bytes of trace header words and samples).
    Trace headers and samples are none of these.
    """
    if block.startswith(STANZA_START) or len(set(block)) <= 1:
        return True
    text = b"".join(block[i : i + CARD].rstrip(b"\x00") for i in range(0, len(block), CARD))
    if not text:  # only NUL padding: blank
        return True
    plain = max(plain_characters(text.decode("cp037")), plain_characters(text.decode("latin-1")))
    return 2 * plain >= len(text)


def _count_ext_headers(fh, declared: int, path: Path, file_size: int) -> int:
    """Number of 3200-byte extended textual headers after the binary header."""
    if declared >= 0:
        if FILE_HEADER_SIZE + declared * TEXT_HEADER_SIZE > file_size:
            raise SegyFormatError(
                f"{path}: the binary header (byte {BIN_EXTENDED_HEADERS}) declares {declared} "
                f"extended textual headers, which do not fit in a file of {file_size} bytes; "
                "the header is corrupt or the file is truncated."
            )
        fh.seek(FILE_HEADER_SIZE)
        if declared and not looks_like_text_header(fh.read(TEXT_HEADER_SIZE)):
            raise SegyFormatError(
                f"{path}: the binary header (byte {BIN_EXTENDED_HEADERS}) declares {declared} "
                f"extended textual header(s), but bytes {FILE_HEADER_SIZE + 1}-"
                f"{FILE_HEADER_SIZE + TEXT_HEADER_SIZE} hold neither text nor a stanza: most "
                "likely traces, and the count is corrupt. Set bytes "
                f"{BIN_EXTENDED_HEADERS}-{BIN_EXTENDED_HEADERS + 1} to 0 if the file has no "
                "extended textual headers."
            )
        return declared
    if declared != -1:
        raise SegyFormatError(
            f"{path}: the extended textual header count at byte {BIN_EXTENDED_HEADERS} is "
            f"{declared}; "
            "SEG-Y allows 0 or more, or -1 for a variable count ended by ((SEG: EndText))."
        )
    count = 0
    fh.seek(FILE_HEADER_SIZE)
    while True:
        block = fh.read(TEXT_HEADER_SIZE)
        if len(block) < TEXT_HEADER_SIZE:
            raise SegyFormatError(
                f"{path}: the binary header says the extended textual headers end with a "
                "((SEG: EndText)) stanza, but none was found before the end of "
                "the file."
            )
        count += 1
        if END_TEXT_STANZA.search(block) or END_TEXT_STANZA.search(
            block.decode("cp037").encode("latin-1", "replace")
        ):
            return count


def read_layout(
    path: str | os.PathLike, endian: Literal["auto", "big", "little"] = "auto"
) -> SegyLayout:
    """Read and validate the file-level layout of a SEG-Y file.

    Args:
        path: the SEG-Y file.
        endian: byte order, or ``"auto"`` to detect it from the sample-format code.

    Raises:
        SegyFormatError: the file is missing, empty, header-only, truncated, has an
            unknown sample format or traces of more than one length.
    """
    path = Path(path)
    if not path.is_file():
        raise SegyFormatError(f"{path}: no such file; check the path (input=...).")
    file_size = path.stat().st_size
    if file_size == 0:
        raise SegyFormatError(f"{path}: the file is empty (0 bytes); it holds no SEG-Y.")
    if file_size < FILE_HEADER_SIZE:
        raise SegyFormatError(
            f"{path}: {file_size} bytes is shorter than the {FILE_HEADER_SIZE}-byte textual "
            "and binary headers every SEG-Y file starts with: not SEG-Y, or truncated."
        )
    with path.open("rb") as fh:
        raw = fh.read(FILE_HEADER_SIZE)
        if endian == "auto":
            endian = detect_endian(raw, path)
        elif endian not in ("big", "little"):
            raise SegyFormatError(f"endian must be 'auto', 'big' or 'little', not {endian!r}.")
        prefix = ">" if endian == "big" else "<"
        code = _int(raw, BIN_FORMAT, BIN_FIELD_SIZE, prefix)
        fmt = sample_format(code, path)
        extra = _int(raw, BIN_EXTRA_TRACE_HEADERS, BIN_FIELD_SIZE, prefix)
        revision = f"{raw[BIN_REVISION - 1]}.{raw[BIN_REVISION]}"
        if extra > 0 and raw[BIN_REVISION - 1] >= 2:
            raise SegyFormatError(
                f"{path}: SEG-Y rev {revision} file with {extra} additional "
                f"{TRACE_HEADER_SIZE}-byte trace header(s) per trace (byte "
                f"{BIN_EXTRA_TRACE_HEADERS}); facies reads only one trace header per trace. "
                "Rewrite the file without trace header extensions."
            )
        declared_ext = _int(raw, BIN_EXTENDED_HEADERS, BIN_FIELD_SIZE, prefix)
        ext = _count_ext_headers(fh, declared_ext, path, file_size)
        first = FILE_HEADER_SIZE + ext * TEXT_HEADER_SIZE
        if file_size == first:
            raise SegyFormatError(
                f"{path}: the file holds headers only ({file_size} bytes) and no traces."
            )
        if file_size - first < TRACE_HEADER_SIZE:
            raise SegyFormatError(
                f"{path}: {file_size - first} bytes after the headers cannot hold even one "
                f"{TRACE_HEADER_SIZE}-byte trace header: the file is truncated."
            )
        fh.seek(first)
        first_header = fh.read(TRACE_HEADER_SIZE)
    ns_bin = _int(raw, BIN_SAMPLE_COUNT, BIN_FIELD_SIZE, prefix, signed=False)
    ns_trace = _int(first_header, SAMPLE_COUNT, FIELD_SIZES[SAMPLE_COUNT], prefix, signed=False)
    ns = ns_bin or ns_trace
    if ns == 0:
        raise SegyFormatError(
            f"{path}: the sample count is 0 in the binary header (byte {BIN_SAMPLE_COUNT}) and in "
            f"the first trace header (byte {SAMPLE_COUNT}): the file holds no samples to read."
        )
    trace_size = TRACE_HEADER_SIZE + ns * fmt.size
    body = file_size - first
    count, rest = divmod(body, trace_size)
    if rest:
        lengths = _walk_trace_lengths(path, first, file_size, prefix, fmt.size)
        if lengths is not None and len(lengths) > 1:
            raise SegyFormatError(
                f"{path}: traces have different lengths: their headers (byte {SAMPLE_COUNT}) give "
                f"{sorted(lengths)[:10]} samples. SEG-Y with non-uniform trace length is not "
                "supported; resample the traces to one length."
            )
        raise SegyFormatError(
            _size_mismatch(path, body, trace_size, count, rest, ns, ns_bin, ns_trace, fmt.size)
        )
    if ns_bin and ns_trace and ns_bin != ns_trace:
        _refuse_ambiguous_count(path, body, ns_bin, ns_trace, fmt.size)
    return SegyLayout(
        path=path,
        file_size=file_size,
        endian=endian,
        format_code=code,
        samples_per_trace=ns,
        binary_interval=_int(raw, BIN_SAMPLE_INTERVAL, BIN_FIELD_SIZE, prefix),
        ext_text_headers=ext,
        first_trace_offset=first,
        trace_count=count,
        revision=revision,
    )


def _refuse_ambiguous_count(path: Path, body: int, ns_bin: int, ns_trace: int, bps: int) -> None:
    """Binary and first trace header disagree on the sample count: refuse if both fit."""
    other = TRACE_HEADER_SIZE + ns_trace * bps
    if body % other:
        log.warning(
            "%s: the binary header says %d samples per trace and the first trace header %d; "
            "reading %d, the only count that fits the file size",
            path,
            ns_bin,
            ns_trace,
            ns_bin,
        )
        return
    count = body // (TRACE_HEADER_SIZE + ns_bin * bps)
    raise SegyFormatError(
        f"{path}: the binary header says {ns_bin} samples per trace (byte {BIN_SAMPLE_COUNT}) but "
        f"the first trace header says {ns_trace} (byte {SAMPLE_COUNT}), and the {body} bytes of "
        "traces "
        f"fit both: {count} trace(s) of {ns_bin} samples or {body // other} of {ns_trace}. One "
        f"of them is corrupt; set the sample count in the binary header (byte {BIN_SAMPLE_COUNT}) "
        "to the right one."
    )


def _walk_trace_lengths(
    path: Path, first: int, file_size: int, prefix: str, bps: int, limit: int = 100_000
) -> set[int] | None:
    """Sample counts met walking the traces by their own headers, or None if that fails."""
    seen: set[int] = set()
    pos = first
    with path.open("rb") as fh:
        for _ in range(limit):
            if pos == file_size:
                return seen
            fh.seek(pos)
            header = fh.read(TRACE_HEADER_SIZE)
            if len(header) < TRACE_HEADER_SIZE:
                return None
            ns = _int(header, SAMPLE_COUNT, FIELD_SIZES[SAMPLE_COUNT], prefix, signed=False)
            if ns == 0:
                return None
            seen.add(ns)
            pos += TRACE_HEADER_SIZE + ns * bps
    return None


def _size_mismatch(
    path: Path,
    body: int,
    trace_size: int,
    count: int,
    rest: int,
    ns: int,
    ns_bin: int,
    ns_trace: int,
    bps: int,
) -> str:
    head = (
        f"{path}: the {body} bytes of traces are not a whole number of {trace_size}-byte "
        f"traces ({TRACE_HEADER_SIZE}-byte header + {ns} samples x {bps} bytes): "
        f"{count} traces and {rest} bytes over."
    )
    if ns_bin and ns_trace and ns_bin != ns_trace:
        other = TRACE_HEADER_SIZE + ns_trace * bps
        hint = (
            f" The binary header says {ns_bin} samples per trace but the first trace header "
            f"says {ns_trace}"
            + (
                f"; {ns_trace} samples would fit exactly ({body // other} traces)."
                if body % other == 0
                else "."
            )
            + " Traces of different lengths are not supported; fix the sample count in the "
            f"binary header (byte {BIN_SAMPLE_COUNT}) or resample the traces to one length."
        )
    else:
        hint = (
            " The file is truncated mid-trace, or its traces differ in length (SEG-Y with "
            "non-uniform trace length is not supported). Re-export or re-copy the file."
        )
    return head + hint
