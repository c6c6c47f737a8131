"""Reading ahead and writing behind: the same calls in the same order, errors raised."""

from __future__ import annotations

import threading

import pytest

from facies.inference.block_io import BlockIO


@pytest.mark.parametrize("overlap", [False, True])
def test_blocks_are_loaded_and_written_in_order(overlap):
    loads, writes, threads = [], [], set()

    def load(a, b):
        loads.append((a, b))
        threads.add(threading.current_thread().name)
        return a * 10

    ranges = [(0, 2), (2, 4), (4, 5)]
    with BlockIO(load, lambda *args: writes.append(args), overlap) as io:
        for (a, b), value in zip(ranges, io.loaded(ranges), strict=True):
            io.write(a, b, value)
    assert loads == [(0, 2), (2, 4), (4, 5)]
    assert writes == [(0, 2, 0), (2, 4, 20), (4, 5, 40)]
    assert (threads == {threading.current_thread().name}) is not overlap


@pytest.mark.parametrize("overlap", [False, True])
def test_an_error_in_a_write_is_raised_in_the_caller(overlap):
    def write(k):
        if k == 1:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), BlockIO(lambda k: k, write, overlap) as io:
        for k in io.loaded([(0,), (1,), (2,)]):
            io.write(k)


def test_an_error_in_a_read_ahead_is_raised_when_its_block_is_due():
    def load(k):
        if k == 2:
            raise ValueError("bad trace")
        return k

    seen = []
    with pytest.raises(ValueError, match="bad trace"), BlockIO(load, seen.append, True) as io:
        for k in io.loaded([(0,), (1,), (2,)]):
            io.write(k)
    assert seen == [0, 1]  # the blocks before it were written
