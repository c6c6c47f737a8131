"""Fingerprints and the run's cache of them: headers read once, never a stale answer."""

from __future__ import annotations

import os

import pytest

from facies.io import fingerprint as fp


@pytest.fixture
def reads(monkeypatch) -> list:
    """Paths whose trace headers were read, in order."""
    found = []
    checksum = fp.segy_headers_checksum
    monkeypatch.setattr(fp, "segy_headers_checksum", lambda p: found.append(p) or checksum(p))
    return found


def rewrite(path, offset: int) -> None:
    """Flip a bit of ``path`` by writing a new file over it (what a re-export does)."""
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 1
    new = path.with_name("new.sgy")
    new.write_bytes(bytes(raw))
    os.replace(new, path)


def test_a_cache_hit_does_not_read_the_headers_again(make_segy, reads):
    path = make_segy()
    cache = fp.FingerprintCache(settled_ns=0)  # written just now: remember it anyway
    first = fp.fingerprint(path, cache)
    assert fp.fingerprint(path, cache) == first
    assert fp.fingerprint(os.path.relpath(path), cache) == first  # the same file, another name
    assert len(reads) == 1 and len(cache) == 1
    again = fp.fingerprint(path, cache)
    again["checksum"] = "edited"  # callers own what they get
    assert fp.fingerprint(path, cache) == first


def test_a_changed_file_is_fingerprinted_again(make_segy, reads):
    path = make_segy()
    cache = fp.FingerprintCache(settled_ns=0)
    first = fp.fingerprint(path, cache)
    rewrite(path, 3600 + 72)  # the first trace's source x
    second = fp.fingerprint(path, cache)
    assert len(reads) == 2 and second["checksum"] != first["checksum"]
    assert fp.fingerprint(path, cache) == second and len(reads) == 2


def test_two_caches_are_independent(make_segy, reads):
    path = make_segy()
    one, two = fp.FingerprintCache(settled_ns=0), fp.FingerprintCache(settled_ns=0)
    assert fp.fingerprint(path, one) == fp.fingerprint(path, two)
    assert len(reads) == 2 and len(one) == len(two) == 1
    fp.fingerprint(path, one)
    assert len(reads) == 2


def test_no_cache_reads_every_time_and_unsettled_files_are_not_kept(make_segy, reads):
    path = make_segy()
    fp.fingerprint(path)
    fp.fingerprint(path)
    assert len(reads) == 2
    cache = fp.FingerprintCache()  # the default: only files unchanged for 2 s are kept
    fp.fingerprint(path, cache)  # written a moment ago: could change within the same tick
    assert len(cache) == 0
    fp.fingerprint(path, cache)
    assert len(reads) == 4


def test_only_segy_goes_through_the_cache(tmp_path, reads):
    notes = tmp_path / "notes.sgy"  # a SEG-Y suffix on something else: head and tail
    notes.write_text("not seismic")
    cache = fp.FingerprintCache(settled_ns=0)
    assert fp.fingerprint(notes, cache)["kind"] == "file"
    assert len(cache) == 0


def _headers_read_plainly(path) -> str:
    """The header checksum as stores record it: the file headers, then every 240-byte
    trace header in file order, read with plain reads (no map)."""
    import hashlib

    from facies.io.segy.layout import read_layout

    layout = read_layout(path)
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        digest.update(fh.read(layout.first_trace_offset))
        for _ in range(layout.trace_count):
            digest.update(fh.read(layout.trace_size)[:240])
    return f"blake2b:{digest.hexdigest()}"


@pytest.mark.parametrize("span_traces", [1, 3, 1000])
def test_the_header_checksum_is_the_same_whatever_the_span_mapped(
    make_segy, monkeypatch, span_traces
):
    """Stores record this checksum: mapping the file a span at a time (to bound memory)
    must give the value one whole-file read gives, or every cached store is made anew."""
    path = make_segy(inlines=range(10, 17), crosslines=range(20, 25), ns=12)
    from facies.io.segy.layout import read_layout

    size = read_layout(path).trace_size
    monkeypatch.setattr(fp, "SEGY_BLOCK_BYTES", span_traces * size)
    assert fp.segy_headers_checksum(path)["checksum"] == _headers_read_plainly(path)


def test_the_header_checksum_releases_each_span(make_segy, monkeypatch):
    """Each span's map is released before the next is made (resident memory stays one
    span, whatever the file's size)."""
    from facies.io.segy import scan

    path = make_segy(inlines=range(10, 17), crosslines=range(20, 25), ns=12)
    live, released = [], []
    made = scan.trace_records

    def tracked(layout, start=0, stop=None):
        records = made(layout, start, stop)
        assert len(live) == len(released), "a map made before the last was released"
        live.append(records)
        return records

    monkeypatch.setattr(fp, "trace_records", tracked)
    monkeypatch.setattr(fp, "release", lambda r: released.append(r))
    monkeypatch.setattr(fp, "SEGY_BLOCK_BYTES", 4 * scan.read_layout(path).trace_size)
    fp.segy_headers_checksum(path)
    assert len(live) == 9 and len(released) == 9  # 35 traces, 4 a span
