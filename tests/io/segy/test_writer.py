"""write_segy_like: headers byte-identical to the template, values replaced, atomic."""

from __future__ import annotations

import numpy as np
import pytest
import segyio

from facies.errors import FaciesError, OutputError
from facies.io import open_segy, write_segy_like
from facies.io.outputs import is_facies_segy
from facies.io.segy import writer as segy_writer
from facies.names import AMPLITUDE, LIVE


def split(raw: bytes, ns: int, bps: int) -> tuple[bytes, list[bytes], list[bytes]]:
    """File header, trace headers and trace data of a plain SEG-Y byte string."""
    size = 240 + ns * bps
    body = raw[3600:]
    count = len(body) // size
    headers = [body[k * size : k * size + 240] for k in range(count)]
    data = [body[k * size + 240 : (k + 1) * size] for k in range(count)]
    return raw[:3600], headers, data


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
@pytest.mark.parametrize("endian", ["big", "little"])
def test_round_trip_keeps_headers_and_values(make_segy, tmp_path, sorting, endian):
    live = np.ones((5, 4), dtype=bool)
    live[2, 1] = live[0, 3] = False
    template = make_segy(format_code=1, sorting=sorting, endian=endian, live=live)
    survey = open_segy(template)
    values = survey[AMPLITUDE] * -2.0 + 0.5
    out = write_segy_like(template, values, tmp_path / "out.sgy")

    head_in, headers_in, _ = split(template.read_bytes(), 8, 4)
    head_out, headers_out, _ = split(out.read_bytes(), 8, 4)
    assert headers_out == headers_in
    assert head_out[:3120] == head_in[:3120]  # the textual header but its last card
    assert head_out[3200:3224] == head_in[3200:3224] and head_out[3226:3296] == head_in[3226:3296]
    assert head_out[3300:] == head_in[3300:]
    if endian == "little":  # SEG-Y rev 2's byte-order word, in the file's byte order
        assert int.from_bytes(head_out[3296:3300], "little") == 0x01020304
    else:
        assert head_out[3296:3300] == head_in[3296:3300]
    assert is_facies_segy(out) and not is_facies_segy(template)  # facies' mark, card 40
    assert int.from_bytes(head_out[3224:3226], endian) == 5  # IEEE float now

    back = open_segy(out)
    np.testing.assert_array_equal(back[AMPLITUDE].values[live], values.values[live])
    np.testing.assert_array_equal(back[LIVE].values, live)
    assert back.attrs["sorting"] == survey.attrs["sorting"]


def test_labels_are_written_as_int16(make_segy, tmp_path):
    template = make_segy()
    labels = (np.arange(5 * 4 * 8).reshape(5, 4, 8) % 6).astype(np.uint8)
    out = write_segy_like(template, labels, tmp_path / "labels.sgy")
    with segyio.open(out) as f:
        assert int(f.format) == 3
        np.testing.assert_array_equal(segyio.tools.cube(f), labels)
    assert out.stat().st_size == 3600 + 20 * (240 + 8 * 2)


def test_output_opens_in_segyio_with_the_same_geometry(segyio_data, tmp_path):
    template = segyio_data / "f3.sgy"
    survey = open_segy(template)
    out = write_segy_like(template, survey[AMPLITUDE] / 10, tmp_path / "f3-out.sgy")
    with segyio.open(template) as a, segyio.open(out) as b:
        assert list(a.ilines) == list(b.ilines) and list(a.xlines) == list(b.xlines)
        np.testing.assert_allclose(b.samples, a.samples)
        np.testing.assert_allclose(segyio.tools.cube(b), segyio.tools.cube(a) / 10, rtol=1e-6)
        assert a.text[0][:3120] == b.text[0][:3120]  # the last card holds facies' mark
    assert is_facies_segy(out)  # EBCDIC there


def test_refuses_to_overwrite_its_template(make_segy):
    template = make_segy()
    before = template.read_bytes()
    with pytest.raises(OutputError, match="an input of this run"):
        write_segy_like(template, np.zeros((5, 4, 8)), template, overwrite=True)
    assert template.read_bytes() == before


def test_existing_output_needs_overwrite(make_segy, tmp_path):
    template, out = make_segy(), tmp_path / "out.sgy"
    write_segy_like(template, np.ones((5, 4, 8)), out)
    with pytest.raises(OutputError, match="overwrite=true"):
        write_segy_like(template, np.zeros((5, 4, 8)), out)
    assert open_segy(out)[AMPLITUDE].values.min() == 1
    write_segy_like(template, np.zeros((5, 4, 8)), out, overwrite=True)  # facies' own: replaced
    assert open_segy(out)[AMPLITUDE].values.max() == 0


def test_overwrite_never_replaces_a_file_facies_did_not_write(make_segy, tmp_path):
    template, out = make_segy(), tmp_path / "out.sgy"
    out.write_bytes(b"keep me")
    other = make_segy("other.sgy")  # a SEG-Y of the user's, not written by facies
    before = other.read_bytes()
    for target in (out, other):
        with pytest.raises(OutputError, match="not made by facies"):
            write_segy_like(template, np.zeros((5, 4, 8)), target, overwrite=True)
    assert out.read_bytes() == b"keep me" and other.read_bytes() == before


def test_wrong_shape_names_the_expected_one(make_segy, tmp_path):
    with pytest.raises(FaciesError, match=r"\(inline, crossline, sample\) = \(5, 4, 8\)"):
        write_segy_like(make_segy(), np.zeros((4, 5, 8)), tmp_path / "out.sgy")
    assert not (tmp_path / "out.sgy").exists()


def test_labels_out_of_int16_range_are_refused(make_segy, tmp_path):
    with pytest.raises(FaciesError, match="do not fit 2-byte"):
        write_segy_like(make_segy(), np.full((5, 4, 8), 40_000), tmp_path / "out.sgy")


def test_failure_mid_write_leaves_nothing(make_segy, tmp_path, monkeypatch):
    template = make_segy()

    def broken(values, code, endian):
        raise OSError("disk full")

    monkeypatch.setattr(segy_writer, "encode", broken)
    with pytest.raises(OSError, match="disk full"):
        write_segy_like(template, np.zeros((5, 4, 8)), tmp_path / "out.sgy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.sgy"]
