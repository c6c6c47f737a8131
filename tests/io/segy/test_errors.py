"""Bad SEG-Y input: a SegyFormatError or GeometryError that names the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facies.errors import FaciesError, GeometryError, SegyFormatError
from facies.io import open_segy
from tests.helpers import encoded_cube


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


# Found by fuzzing (tests/io/test_segy_fuzz.py): corrupt headers that used to read silently.


def test_binary_sample_count_that_also_fits_the_file_is_refused(make_segy):
    # 2 traces of 8 float samples (544 bytes) are also 1 trace of 76 samples: that read
    # as a 1 x 1 survey whose samples were the second trace's header
    path = patch(make_segy(inlines=[1], crosslines=[1, 2], ns=8), 3221, 76)
    with pytest.raises(
        SegyFormatError, match=r"binary header says 76 samples.*first trace header says 8.*fit both"
    ):
        open_segy(path)


def test_trace_header_sample_counts_that_do_not_fit_are_overruled(make_segy, caplog):
    path = make_segy(ns=8)
    raw = bytearray(path.read_bytes())
    for k in range(20):  # every trace header says 9 samples; only 8 fit the file size
        raw[3600 + k * 272 + 114 : 3600 + k * 272 + 116] = (9).to_bytes(2, "big")
    path.write_bytes(bytes(raw))
    survey = open_segy(path)
    np.testing.assert_array_equal(
        survey["amplitude"].values, encoded_cube(range(10, 15), range(20, 24), 8)
    )
    assert "reading 8, the only count that fits" in caplog.text


def test_sample_format_of_another_size_is_caught_by_the_trace_headers(make_segy):
    # 4 traces of 40 4-byte samples are 5 traces of 40 2-byte samples; the "headers" of
    # those lie among the samples: this used to fail as nonsense geometry, or read
    path = patch(make_segy(inlines=[1, 2], crosslines=[1, 2], ns=40), 3225, 3)
    with pytest.raises(
        SegyFormatError, match=r"trace 3 of 5 says \d+ samples.*format \(byte 3225\)"
    ):
        open_segy(path)


def test_extended_header_count_that_points_at_traces_is_refused(make_segy):
    # traces of 20 float samples are 320 bytes: 10 of them fill the 3200 bytes of one
    # "extended textual header", and the last 2 read as a survey of their own
    path = patch(make_segy(inlines=range(1, 4), crosslines=range(1, 5), ns=20), 3505, 1)
    with pytest.raises(
        SegyFormatError,
        match=r"declares 1 extended textual header.*neither text nor a stanza.*3505-3506 to 0",
    ):
        open_segy(path)


def nul_padded(cards: list[str], encoding: str, card: int = 3200) -> bytes:
    """Text padded with NULs to ``card`` bytes per line, then with NULs to 3200 bytes."""
    return b"".join(line.encode(encoding).ljust(card, b"\x00") for line in cards).ljust(
        3200, b"\x00"
    )


@pytest.mark.parametrize(
    "block",
    [
        b"\x00" * 3200,
        "C 1 EXTENDED TEXTUAL HEADER".ljust(3200).encode("cp037"),
        # short text padded with NULs (blanks to decode_text), not with blanks
        nul_padded(["C 1 EXTENDED TEXTUAL HEADER"], "cp037"),
        nul_padded(["C 1 EXTENDED TEXTUAL HEADER"], "ascii"),
        nul_padded(["C 1 CLIENT: NONE", "C 2 PROCESSED BY: FACIES", "C40 END EBCDIC"], "cp037", 80),
    ],
    ids=["blank", "ebcdic", "ebcdic-nul-padded", "ascii-nul-padded", "ebcdic-cards-nul-padded"],
)
def test_blank_or_text_extended_headers_are_read(make_segy, block):
    path = make_segy()
    raw = path.read_bytes()
    path.write_bytes(raw[:3504] + (1).to_bytes(2, "big") + raw[3506:3600] + block + raw[3600:])
    survey = open_segy(path)
    np.testing.assert_array_equal(
        survey["amplitude"].values, encoded_cube(range(10, 15), range(20, 24), 8)
    )
