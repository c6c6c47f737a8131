"""How much memory an in-memory survey needs, and how much the machine has, before loading.

A survey held for training costs :data:`BYTES_PER_SAMPLE` bytes a sample (float32
amplitude, int16 labels; see :class:`facies.data.volume.Volume`). Training checks the
figure against the memory available before it reads anything, so a survey that cannot fit
ends at once with the numbers, not after minutes in a raw ``MemoryError``; with
``data.in_memory=auto`` (the default) it streams such a survey from the store instead
(:func:`choose_in_memory`, :mod:`facies.data.streamed`).
"""

from __future__ import annotations

import os
from pathlib import Path

from facies.errors import ConfigError

#: Float32 amplitude + int16 labels.
BYTES_PER_SAMPLE = 6
#: Share of the available memory a survey may take (the rest: model, batches, Python).
USABLE_SHARE = 0.8


def choose_in_memory(
    setting: str | bool, shapes: list[tuple[int, int, int]], available: int | None
) -> tuple[bool, str]:
    """Whether training holds the surveys of ``shapes`` in memory (``data.in_memory``:
    ``auto``, true or false), and why, in words for the log.

    ``auto`` holds them when they take at most :data:`USABLE_SHARE` of the ``available``
    bytes (or when the memory available cannot be read), and streams them otherwise."""
    needed = sum(survey_bytes(shape) for shape in shapes)
    figure = f"the survey needs about {gib(needed)} in memory"
    if setting is True or setting is False:
        mode = "in memory" if setting else "streamed from the store"
        return setting, f"data.in_memory={str(setting).lower()}: {mode} ({figure})"
    if setting != "auto":
        raise ConfigError(f"data.in_memory={setting!r}: must be auto, true or false.")
    if available is None:
        return True, f"{figure}, and the memory available is unknown: in memory"
    share = f"{USABLE_SHARE:.0%} of the {gib(available)} available"
    if needed <= USABLE_SHARE * available:
        return True, f"{figure}, within {share}: in memory"
    return False, f"{figure}, more than {share}: streamed from the store"


def survey_bytes(shape: tuple[int, int, int]) -> int:
    """Bytes an in-memory survey of ``(inlines, crosslines, samples)`` takes."""
    nil, nxl, ns = (int(v) for v in shape)
    return nil * nxl * ns * BYTES_PER_SAMPLE


def _cgroup_limit() -> int | None:
    """The container's memory limit (cgroup v2, then v1), or None."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            return int(text)
    return None


def available_bytes() -> int | None:
    """Memory this process can still take: MemAvailable, capped by a cgroup limit; None
    where neither can be read (then nothing is refused)."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None and hasattr(os, "sysconf"):
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            available = None
    limit = _cgroup_limit()
    if limit is not None:
        used = _cgroup_usage()
        room = limit - used if used is not None else limit
        available = room if available is None else min(available, room)
    return available


def _cgroup_usage() -> int | None:
    for path in ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"):
        try:
            return int(Path(path).read_text().strip())
        except (OSError, ValueError):
            continue
    return None


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"
