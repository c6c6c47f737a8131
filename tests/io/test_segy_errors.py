"""Bad SEG-Y input: a SegyFormatError or GeometryError that names the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from facies.errors import FaciesError, GeometryError, SegyFormatError
from facies.io import open_segy


def patch(path: Path, pos: int, value: int, size: int = 2) -> Path:
    raw = bytearray(path.read_bytes())
    raw[pos - 1 : pos - 1 + size] = value.to_bytes(size, "big", signed=True)
    path.write_bytes(bytes(raw))
    return path


def test_missing_file(tmp_path):
    with pytest.raises(SegyFormatError, match="no such file"):
        open_segy(tmp_path / "nope.sgy")


def test_empty_file(tmp_path):
    (tmp_path / "empty.sgy").write_bytes(b"")
    with pytest.raises(SegyFormatError, match="empty"):
        open_segy(tmp_path / "empty.sgy")


def test_short_file_is_not_segy(tmp_path):
    (tmp_path / "short.sgy").write_bytes(b"hello" * 100)
    with pytest.raises(SegyFormatError, match="shorter than the 3600-byte"):
        open_segy(tmp_path / "short.sgy")


def test_other_file_is_not_segy(tmp_path):
    (tmp_path / "text.sgy").write_bytes(b"\x00" * 5000)
    with pytest.raises(SegyFormatError, match=r"not a SEG-Y file.*Seismic Unix"):
        open_segy(tmp_path / "text.sgy")


def test_header_only(make_segy):
    path = make_segy()
    path.write_bytes(path.read_bytes()[:3600])
    with pytest.raises(SegyFormatError, match="headers only"):
        open_segy(path)


def test_truncated_mid_trace(make_segy):
    path = make_segy()
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(SegyFormatError, match=r"19 traces and \d+ bytes over.*truncated"):
        open_segy(path)


def test_unknown_format_code(make_segy):
    path = patch(make_segy(), 3225, 13)
    with pytest.raises(SegyFormatError, match="unknown sample format code 13"):
        open_segy(path)


def test_obsolete_fixed_point_format_is_refused(make_segy):
    path = patch(make_segy(format_code=1), 3225, 4)
    with pytest.raises(SegyFormatError, match=r"format 4 .*not supported"):
        open_segy(path)


def test_non_uniform_trace_length(make_segy, tmp_path):
    one = make_segy("a.sgy", ns=8).read_bytes()
    two = make_segy("b.sgy", ns=6).read_bytes()
    trace8, trace6 = 240 + 8 * 4, 240 + 6 * 4
    mixed = one[: 3600 + 3 * trace8] + two[3600 : 3600 + 2 * trace6]
    (tmp_path / "mixed.sgy").write_bytes(mixed)
    with pytest.raises(SegyFormatError, match=r"different lengths.*\[6, 8\]"):
        open_segy(tmp_path / "mixed.sgy")


def test_binary_and_trace_sample_counts_disagree(make_segy):
    path = patch(make_segy(ns=8), 3221, 9)
    with pytest.raises(SegyFormatError, match=r"binary header says 9 samples.*first trace header"):
        open_segy(path)


def test_additional_trace_headers_are_refused(make_segy):
    path = patch(patch(make_segy(), 3501, 0x0200), 3507, 1)
    with pytest.raises(SegyFormatError, match="additional 240-byte trace header"):
        open_segy(path)


def test_duplicate_inline_crossline_pairs(make_segy, tmp_path):
    raw = make_segy().read_bytes()
    trace = 240 + 8 * 4
    (tmp_path / "dup.sgy").write_bytes(raw + raw[3600 : 3600 + trace])
    with pytest.raises(GeometryError, match=r"inline 10, crossline 20.*iline=... and xline"):
        open_segy(tmp_path / "dup.sgy")


def test_prestack_is_refused_with_the_offsets(make_segy, tmp_path):
    raw = bytearray(make_segy().read_bytes())
    trace = 240 + 8 * 4
    second = bytearray(raw[3600:])
    for k in range(len(second) // trace):
        second[k * trace + 36 : k * trace + 40] = (2).to_bytes(4, "big")
    (tmp_path / "ps.sgy").write_bytes(bytes(raw) + bytes(second))
    with pytest.raises(GeometryError, match=r"prestack.*offsets \[0, 2\].*offset=<value>"):
        open_segy(tmp_path / "ps.sgy")
    survey = open_segy(tmp_path / "ps.sgy", offset=2)
    assert survey["amplitude"].shape == (5, 4, 8)
    with pytest.raises(GeometryError, match="no trace has offset 7"):
        open_segy(tmp_path / "ps.sgy", offset=7)


def test_bad_header_byte_is_a_config_error(make_segy):
    with pytest.raises(FaciesError, match="byte 190 is not the start"):
        open_segy(make_segy(), iline=190)


def test_wild_line_numbers_do_not_allocate_a_huge_grid(make_segy, tmp_path):
    raw = bytearray(make_segy().read_bytes())
    raw[3600 + 188 : 3600 + 192] = (2_000_000_000).to_bytes(4, "big")
    (tmp_path / "wild.sgy").write_bytes(bytes(raw))
    with pytest.raises(GeometryError, match="do not hold a 3-D grid"):
        open_segy(tmp_path / "wild.sgy", min_live_fraction=0)
