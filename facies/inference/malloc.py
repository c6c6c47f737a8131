"""Keep freed memory in the process between forward passes (glibc only).

A forward pass allocates and frees activations of a few MiB per layer. With glibc's
defaults those come from fresh ``mmap`` pages or a heap trimmed back to the system after
each pass, and every page is faulted in and zeroed again: on a CPU that was a third of
``facies predict``'s time (3.6 million page faults on a 117 MB survey). Raising the mmap
and trim thresholds keeps the pages for the next pass; memory stays bounded by the
largest pass. Elsewhere (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from the heap (glibc accepts at most 32 MiB) ...
MMAP_THRESHOLD = 32 * 2**20
#: ... which is returned to the system only when this much is free at its top.
TRIM_THRESHOLD = 2**30


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; whether it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        done = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and done
    except (OSError, AttributeError):  # not glibc
        return False
    log.debug("malloc thresholds raised: %s", done)
    return done
