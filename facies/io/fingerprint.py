"""Fingerprints of files and folders: do two paths hold the same data, as far as headers tell?

Fingerprints are cheap (a 2 GB SEG-Y takes seconds) and are what ``provenance.json``
records of a run's inputs and what a prediction store records of its survey:

- SEG-Y (``.sgy``, ``.segy``): the size, and a BLAKE2b checksum of the textual and
  binary headers (with any extended textual headers) and of every 240-byte trace
  header, read block by block through a memory map. Sample values are not read: a
  change of geometry, coordinates or sample format shows, an edited amplitude does not.
- other files (``.npy``, checkpoints, JSON): the size and a checksum of the first and
  last MiB.
- folders (survey and prediction stores, run folders): the number and total size of
  the files, and a checksum of the names and contents of the metadata files
  (``zarr.json``, ``.zarray``, ``.zattrs``, ``.zgroup``, ``.zmetadata``, ``*.json``).

Reading every trace header of a large SEG-Y is the one costly part. A
:class:`FingerprintCache`, made by whoever runs a job and handed to everything that
fingerprints (provenance, the prediction store), lets one run read them once. There
is no cache at module level: two runs in one process, or two tests, never share one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from facies.io.segy.layout import read_layout
from facies.io.segy.scan import release, trace_records

log = logging.getLogger(__name__)

#: A plain file is fingerprinted by this much of its head and of its tail.
EDGE_BYTES = 1 << 20
#: Trace headers are read this many bytes of traces at a time (one map of the file each).
SEGY_BLOCK_BYTES = 16 << 20
SEGY_SUFFIXES = {".sgy", ".segy"}
METADATA_NAMES = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}
#: Metadata files larger than this are fingerprinted by size only.
METADATA_MAX_BYTES = 4 << 20
#: Stop walking a folder after this many files (the fingerprint says it was cut short).
MAX_FILES = 200_000
#: Only files unchanged for this long are remembered: a file written within the same
#: timestamp tick as its fingerprint could change again without changing its times (as
#: git treats "racily clean" index entries).
SETTLED_NS = 2_000_000_000


def _blake2b() -> Any:
    return hashlib.blake2b(digest_size=20)


class FingerprintCache:
    """SEG-Y fingerprints already computed, so one run reads a file's trace headers once.

    Keyed by the resolved path and what ``os.stat`` says of the file (device, inode,
    size, modification and change times): any write or rename changes the key, and the
    file is fingerprinted afresh. Only files that had settled (unchanged for
    ``settled_ns`` before their fingerprint began) are remembered. Callers get copies:
    changing a returned record never changes what the cache holds.

    Args:
        settled_ns: how long a file must have been unchanged to be remembered.
    """

    def __init__(self, settled_ns: int = SETTLED_NS) -> None:
        self.settled_ns = settled_ns
        self._records: dict[tuple[Any, ...], dict[str, Any]] = {}

    @staticmethod
    def key(path: Path, stat: os.stat_result) -> tuple[Any, ...]:
        """What identifies one version of the file at ``path``."""
        return (
            str(path),
            stat.st_dev,
            stat.st_ino,
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )

    def get(self, path: Path, stat: os.stat_result) -> dict[str, Any] | None:
        """A copy of the fingerprint remembered for this version of ``path``, or None."""
        record = self._records.get(self.key(path, stat))
        return None if record is None else dict(record)

    def put(
        self, path: Path, stat: os.stat_result, record: dict[str, Any], started_ns: int
    ) -> bool:
        """Remember ``record`` if the file had settled when its fingerprint began
        (``started_ns``, from :func:`time.time_ns`); True if it was remembered."""
        if stat.st_ctime_ns >= started_ns - self.settled_ns:
            return False
        self._records[self.key(path, stat)] = dict(record)
        return True

    def __len__(self) -> int:
        return len(self._records)


def fingerprint(path: str | os.PathLike, cache: FingerprintCache | None = None) -> dict[str, Any]:
    """Size and header checksum of a file or folder (see the module docstring).

    Args:
        path: the file or folder.
        cache: SEG-Y fingerprints of this run; the trace headers of a SEG-Y file it
            holds (unchanged since) are not read again. None reads them every time.
    """
    path = Path(path).resolve()
    if path.is_dir():
        return {"path": str(path), **_folder(path)}
    stat = path.stat()
    size = stat.st_size
    if path.suffix.lower() in SEGY_SUFFIXES:
        if cache is not None and (known := cache.get(path, stat)) is not None:
            return known
        started = time.time_ns()
        try:
            record = {"path": str(path), "size": size, **segy_headers_checksum(path)}
        except Exception as err:  # not SEG-Y we can lay out: fall back to head and tail
            log.debug("%s: not fingerprinted as SEG-Y (%s)", path, err)
        else:
            if cache is not None:
                cache.put(path, stat, record, started)
            return record
    return {"path": str(path), "size": size, "kind": "file", "checksum": _edges(path, size)}


def segy_headers_checksum(path: str | os.PathLike) -> dict[str, Any]:
    """Checksum of the file headers and every trace header of a SEG-Y file.

    Memory stays bounded: the file is mapped a span of :data:`SEGY_BLOCK_BYTES` at a
    time, each map released before the next (pages of a map that were read count
    towards resident memory while it lives; one map of the whole file held it all).
    Raises :class:`facies.errors.SegyFormatError` for files whose layout cannot be read.
    """
    layout = read_layout(path)
    digest = _blake2b()
    with open(layout.path, "rb") as fh:
        digest.update(fh.read(layout.first_trace_offset))
    step = max(1, SEGY_BLOCK_BYTES // layout.trace_size)
    for start in range(0, layout.trace_count, step):
        stop = min(start + step, layout.trace_count)
        records = trace_records(layout, start, stop)
        digest.update(np.ascontiguousarray(records["header"]))
        release(records)
        del records
    return {
        "kind": "segy",
        "traces": layout.trace_count,
        "checksum": f"blake2b:{digest.hexdigest()}",
        "covers": "file headers and every trace header",
    }


def _edges(path: Path, size: int) -> str:
    digest = _blake2b()
    digest.update(size.to_bytes(8, "little"))
    with path.open("rb") as fh:
        digest.update(fh.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            fh.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            digest.update(fh.read(EDGE_BYTES))
    return f"blake2b:{digest.hexdigest()}"


def _is_metadata(name: str) -> bool:
    return name in METADATA_NAMES or name.endswith(".json")


def _folder(root: Path) -> dict[str, Any]:
    digest = _blake2b()
    files = size = 0
    complete = True
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if files >= MAX_FILES:
                complete = False
                break
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:  # vanished or a broken link
                continue
            files += 1
            size += stat.st_size
            if _is_metadata(name):
                rel = path.relative_to(root).as_posix().encode()
                digest.update(len(rel).to_bytes(4, "little") + rel)
                if stat.st_size <= METADATA_MAX_BYTES:
                    digest.update(path.read_bytes())
                else:
                    digest.update(stat.st_size.to_bytes(8, "little"))
        if not complete:
            break
    record = {
        "kind": "folder",
        "files": files,
        "size": size,
        "checksum": f"blake2b:{digest.hexdigest()}",
        "covers": "file count and sizes, names and contents of metadata files",
    }
    if not complete:
        record["truncated_at_files"] = MAX_FILES
    return record
