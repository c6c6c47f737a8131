"""Decoding a span of the file at a time: the same values as one whole-file read, for
every trace order, with each span's map released before the next is made."""

from __future__ import annotations

import numpy as np
import pytest

from facies.io.inline_blocks import InlineBlocks
from facies.io.segy import reader, scan
from facies.io.segy.scan import scan_segy, trace_records


@pytest.fixture
def tiny_spans(monkeypatch):
    """Spans of 3 traces: a 35-trace file takes many."""
    monkeypatch.setattr(reader, "SPAN_BYTES", 3 * (240 + 12 * 4))


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
def test_spans_give_the_whole_file_read(make_segy, tiny_spans, sorting):
    path = make_segy(inlines=range(1, 8), crosslines=range(20, 25), ns=12, sorting=sorting)
    found = scan_segy(path)
    whole = np.array(trace_records(found.layout))  # one map of the whole file, copied
    picks = np.array([0, 1, 2, 5, 9, 10, 11, 30, 34])  # ascending, with gaps
    rows, got = [], []
    for span, records in reader.mapped_traces(found, picks):
        assert span.stop - span.start <= 3
        rows.append(np.arange(span.start, span.stop))
        got.append(np.array(records))
    np.testing.assert_array_equal(np.concatenate(rows), np.arange(len(picks)))
    np.testing.assert_array_equal(np.concatenate(got), whole[picks])


@pytest.mark.parametrize("sorting", ["inline", "crossline", "shuffled"])
def test_blocks_read_the_same_values_and_headers_in_any_order(make_segy, tiny_spans, sorting):
    path = make_segy(inlines=range(1, 8), crosslines=range(20, 25), ns=12, sorting=sorting)
    found = scan_segy(path)
    expected = reader.open_segy(path).amplitude.values
    whole = np.array(trace_records(found.layout))
    grid = found.grid
    headers = np.zeros((*grid.shape, 240), np.uint8)
    headers[grid.il_index, grid.xl_index] = whole["header"][grid.traces]
    blocks = InlineBlocks(found, block_bytes=2 * 5 * 12 * 4)  # 2 inlines a block
    cells = np.empty((2, 5, 240), np.uint8)
    for start, stop in blocks.ranges():
        block = blocks.read(start, stop, headers=cells)
        np.testing.assert_array_equal(block, expected[start:stop])
        np.testing.assert_array_equal(cells[: stop - start], headers[start:stop])


def test_each_span_is_released_before_the_next_is_mapped(make_segy, tiny_spans, monkeypatch):
    path = make_segy(inlines=range(1, 8), crosslines=range(20, 25), ns=12, sorting="shuffled")
    found = scan_segy(path)
    made, released = [], []
    real_records = scan.trace_records

    def records(layout, start=0, stop=None):
        assert len(made) == len(released), "a map made while the last one is held"
        made.append(real_records(layout, start, stop))
        return made[-1]

    real_release = scan.release

    def release(records):
        released.append(records)
        real_release(records)

    monkeypatch.setattr(scan, "trace_records", records)
    monkeypatch.setattr(reader, "release", release)
    out = np.empty((found.layout.trace_count, 12), np.float32)
    reader.decode_traces(found, np.arange(found.layout.trace_count), out)
    assert len(made) == len(released) == 12  # 35 traces, 3 a span
    assert all(r is m for r, m in zip(released, made, strict=True))


def test_release_drops_the_pages_but_not_the_values(make_segy):
    found = scan_segy(make_segy(ns=12))
    records = trace_records(found.layout)
    before = np.array(records)
    scan.release(records)
    np.testing.assert_array_equal(np.array(records), before)  # read again from the file
    scan.release(before)  # a copy maps nothing: no error
