"""SEG-Y written like a source file that has gone: from the headers a survey store kept
(facies.io.store_template), byte-identical to what the source file itself gives."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import segyio

from facies.errors import ConfigError, FaciesError
from facies.io.segy.scan import scan_segy
from facies.io.segy.template import template_of_scan
from facies.io.segy.writer import write_segy_streamed
from facies.io.store import ingest_segy
from facies.io.store_template import KeptHeadersError, template_of_store
from tests.helpers import as_legacy_store


def cell_ids(il: np.ndarray, xl: np.ndarray, ns: int) -> np.ndarray:
    """Values that say which cell a trace belongs to: 100 * inline index + crossline index."""
    return np.repeat((100 * il + xl)[:, None], ns, axis=1).astype(np.int16)


def write_both(source, tmp_path, **options):
    """The same values written like the source file and like the store's copy of it (the
    source moved away first); returns both files' bytes and the moved source."""
    store = ingest_segy(source, tmp_path / "survey.zarr", **options)
    scan = scan_segy(source, **options)
    ns = scan.layout.samples_per_trace

    def values(il, xl):
        return cell_ids(il, xl, ns)

    from_file = write_segy_streamed(scan, values, tmp_path / "from-file.sgy", integer=True)
    moved = shutil.move(source, tmp_path / "moved-away.sgy")
    template = template_of_store(store)
    assert template.path is None and template.kept_in == store
    from_store = write_segy_streamed(template, values, tmp_path / "from-store.sgy", integer=True)
    return from_file.read_bytes(), from_store.read_bytes(), moved


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
@pytest.mark.parametrize("endian", ["big", "little"])
def test_a_store_writes_what_its_source_would(make_segy, tmp_path, sorting, endian):
    live = np.ones((5, 4), dtype=bool)
    live[2, 1] = live[0, 3] = False  # missing traces: no trace written there
    codes = np.zeros((5, 4), dtype=np.int16)
    codes[4, 2] = 2  # a dead-flagged trace: written, with its header
    source = make_segy(sorting=sorting, endian=endian, live=live, trace_id=codes)
    from_file, from_store, _ = write_both(source, tmp_path)
    assert from_store == from_file
    assert len(from_store) == 3600 + 18 * (240 + 8 * 2)


@pytest.mark.parametrize("name", ["f3.sgy", "f3-lsb.sgy", "small.sgy", "multi-text.sgy"])
def test_real_files(segyio_data, tmp_path, name):
    source = tmp_path / name
    shutil.copyfile(segyio_data / name, source)
    original = source.read_bytes()
    from_file, from_store, moved = write_both(source, tmp_path)
    assert from_store == from_file
    endian = "little" if "lsb" in name else "big"
    with (
        segyio.open(moved, endian=endian) as a,
        segyio.open(tmp_path / "from-store.sgy", endian=endian) as b,
    ):
        assert list(a.ilines) == list(b.ilines) and list(a.xlines) == list(b.xlines)
        assert int(b.format) == 3 and len(b.samples) == len(a.samples)
        assert b.ext_headers == a.ext_headers
        for k in range(a.tracecount):  # every trace header as the source's, byte 115 aside
            ha, hb = bytes(a.header[k].buf), bytes(b.header[k].buf)
            assert ha[:114] + ha[116:] == hb[:114] + hb[116:]
            assert b.header[k][segyio.TraceField.TRACE_SAMPLE_COUNT] == len(b.samples)
        il = np.searchsorted(a.ilines, a.attributes(segyio.TraceField.INLINE_3D)[:])
        xl = np.searchsorted(a.xlines, a.attributes(segyio.TraceField.CROSSLINE_3D)[:])
        np.testing.assert_array_equal(b.trace.raw[:][:, 0], 100 * il + xl)
    assert moved.read_bytes() == original  # the input is never modified


def test_the_store_must_prove_its_headers(make_segy, tmp_path):
    """Headers the record's checksum does not cover are never written."""
    source = make_segy()
    store = ingest_segy(source, tmp_path / "survey.zarr")
    meta = json.loads((store / "zarr.json").read_text())
    text = bytearray(bytes.fromhex(meta["attributes"]["segy_textual_header"]))
    text[100] ^= 0x01  # one bit of the kept textual header
    meta["attributes"]["segy_textual_header"] = bytes(text).hex()
    (store / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(KeptHeadersError, match="do not reproduce its source's"):
        template_of_store(store)


def test_a_store_without_a_record_or_headers_is_refused(make_segy, tmp_path):
    store = as_legacy_store(ingest_segy(make_segy(), tmp_path / "survey.zarr"))
    with pytest.raises(ConfigError, match="record holds no checksum"):
        template_of_store(store)
    shutil.rmtree(store / "trace_header")
    with pytest.raises(KeptHeadersError, match=r"keeps no SEG-Y headers \(made by an older"):
        template_of_store(store)


def test_an_unrecoverable_trace_order_is_refused(make_segy, tmp_path):
    """Shuffled traces without trace sequence numbers: the order cannot be proved."""
    source = make_segy(sorting="shuffled")
    raw = bytearray(source.read_bytes())
    for k in range(20):  # bytes 5-8 of every trace header: zero
        raw[3600 + k * (240 + 32) + 4 : 3600 + k * (240 + 32) + 8] = bytes(4)
    source.write_bytes(bytes(raw))
    store = ingest_segy(source, tmp_path / "survey.zarr")
    with pytest.raises(KeptHeadersError, match="trace order cannot be recovered"):
        template_of_store(store)


def test_a_prestack_file_read_at_one_offset_is_refused(segyio_data, tmp_path):
    source = tmp_path / "small-ps.sgy"
    shutil.copyfile(segyio_data / "small-ps.sgy", source)
    store = ingest_segy(source, tmp_path / "survey.zarr", offset=1, min_live_fraction=0)
    with pytest.raises(KeptHeadersError, match="keeps 12 trace headers where its source held 24"):
        template_of_store(store)
    with pytest.raises(FaciesError, match="template must be post-stack"):
        template_of_scan(scan_segy(source, offset=1, min_live_fraction=0))
