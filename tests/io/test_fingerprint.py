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
