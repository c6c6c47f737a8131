"""Read-ahead and write-behind for block-wise prediction.

With ``overlap`` on (the default on a GPU), the next block of inlines is read, decoded
and normalised (into pinned memory for a GPU) by one thread while the network runs on
this one, and the finished block is written to the prediction store by another while
the next one runs. At most one block is read ahead and one written behind, so memory
stays bounded by a few blocks; an error in either thread is raised in the caller's.
Off (the default on a CPU, whose cores the network already keeps busy), both happen in
the caller's thread, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class BlockIO:
    """``loaded(ranges)`` yields ``load(*range)`` in order; ``write(*args)`` runs
    ``writer(*args)``; with ``overlap``, each in a thread of its own.

    Use as a context manager: on leaving, a pending write is finished (and its error
    raised, unless another one is already on its way) and a read ahead dropped.
    """

    def __init__(self, load: Callable[..., T], writer: Callable[..., None], overlap: bool):
        self._load, self._writer = load, writer
        self._reading = ThreadPoolExecutor(1, "facies-read") if overlap else None
        self._writing = ThreadPoolExecutor(1, "facies-write") if overlap else None
        self._pending: Future | None = None

    def loaded(self, ranges: Sequence[tuple[Any, ...]]) -> Iterator[T]:
        if self._reading is None:
            for args in ranges:
                yield self._load(*args)
            return
        ahead = self._reading.submit(self._load, *ranges[0]) if ranges else None
        for following in [*ranges[1:], None]:
            value = ahead.result()
            ahead = None if following is None else self._reading.submit(self._load, *following)
            yield value

    def write(self, *args: Any) -> None:
        if self._writing is None:
            self._writer(*args)
            return
        self.flush()  # one block in flight at most
        self._pending = self._writing.submit(self._writer, *args)

    def flush(self) -> None:
        """Wait for the write in flight; raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> BlockIO:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                self.flush()
            elif self._pending is not None:  # finish it (a marker follows its data) quietly
                self._pending.exception()
        finally:
            for pool in (self._reading, self._writing):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
