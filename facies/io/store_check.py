"""Whether a survey store is whole: its manifest, and the check :func:`open_survey` makes.

A store's manifest (attribute ``facies_manifest``) holds the number and total size of
the chunk files of each array (arrays of subgroups by their path, e.g.
``crossline_sections/amplitude``), taken when the ingest ended. :func:`check_complete`
counts them again (a directory walk, no data read) and refuses a store that lost any
(:class:`IncompleteStoreError`). Stores written before the manifest existed are checked
against their arrays' shapes instead.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from facies.errors import FaciesError
from facies.io.store_record import store_attrs
from facies.names import AMPLITUDE, CROSSLINE, INLINE, LIVE, SAMPLE

#: Store attribute: the chunk files of each array when the store was complete.
MANIFEST = "facies_manifest"
#: Arrays every survey store holds.
REQUIRED_ARRAYS = (AMPLITUDE, LIVE, INLINE, CROSSLINE, SAMPLE)
METADATA_FILES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"})


class IncompleteStoreError(FaciesError):
    """A survey store lacks chunks or arrays it was written with (a copy cut short)."""


def _array_meta(folder: Path) -> dict[str, Any] | None:
    """Shape, chunk shape and fixed chunk size (bytes, or None) of the array in
    ``folder`` from its zarr 3 or zarr 2 metadata; None if ``folder`` is no array."""
    try:
        if (folder / "zarr.json").is_file():
            meta = json.loads((folder / "zarr.json").read_text())
            if meta.get("node_type") != "array":
                return None
            chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
            codecs = meta.get("codecs", [])
            dtype = meta.get("data_type")
            extra = 0  # bytes of a chunk file besides its values (a shard's index)
            inner_count = 1  # chunks in a chunk file (a shard's inner chunks)
            if [c.get("name") for c in codecs] == ["sharding_indexed"]:
                shard = codecs[0].get("configuration", {})
                inner = shard.get("chunk_shape", chunks)
                index = [c.get("name") for c in shard.get("index_codecs", [])]
                inner_count = math.prod(c // i for c, i in zip(chunks, inner, strict=True))
                extra = inner_count * 16
                extra += 4 if index == ["bytes", "crc32c"] else 0
                codecs = (
                    shard.get("codecs", []) if index in (["bytes"], ["bytes", "crc32c"]) else []
                )
            fixed = [c.get("name") for c in codecs] == ["bytes"] and isinstance(dtype, str)
            itemsize = np.dtype(dtype).itemsize if fixed else 0
        elif (folder / ".zarray").is_file():
            meta = json.loads((folder / ".zarray").read_text())
            chunks = meta["chunks"]
            fixed = meta.get("compressor") is None and not meta.get("filters")
            itemsize = np.dtype(meta["dtype"]).itemsize if fixed else 0
            extra, inner_count = 0, 1
        else:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {
        "shape": list(meta["shape"]),
        "chunks": list(chunks),
        "chunk_bytes": math.prod(chunks) * itemsize + extra if fixed else None,
        "index_bytes": extra,
        "inner_chunks": inner_count,
    }


def _whole_size(meta: dict[str, Any], size: int) -> bool:
    """Whether a chunk file of ``size`` bytes is whole: the array's fixed chunk size, or
    for a shard, its index and some of its inner chunks (zarr leaves out those past the
    array's end)."""
    full = meta["chunk_bytes"]
    if full is None or size == full:
        return True
    inner = (full - meta["index_bytes"]) // meta["inner_chunks"]
    values = size - meta["index_bytes"]
    return meta["inner_chunks"] > 1 and 0 < values < full and values % inner == 0


def _chunk_files(folder: Path) -> dict[str, int]:
    """{relative chunk key: size} of the chunk files of the array in ``folder``."""
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            if name in METADATA_FILES:
                continue
            path = Path(root, name)
            try:
                found[path.relative_to(folder).as_posix()] = path.stat().st_size
            except OSError:
                continue
    return found


def chunk_census(store: str | os.PathLike) -> dict[str, dict[str, int]]:
    """{array: {"chunks": number of chunk files, "bytes": their total size}} of a store,
    the arrays of its subgroups named by their path (``group/array``)."""
    census = {}
    for entry in sorted(Path(store).iterdir()):
        if not entry.is_dir():
            continue
        if _array_meta(entry) is not None:
            files = _chunk_files(entry)
            census[entry.name] = {"chunks": len(files), "bytes": sum(files.values())}
        elif _is_group(entry):
            for name, counts in chunk_census(entry).items():
                census[f"{entry.name}/{name}"] = counts
    return census


def _is_group(folder: Path) -> bool:
    if (folder / ".zgroup").is_file():
        return True
    try:
        return json.loads((folder / "zarr.json").read_text()).get("node_type") == "group"
    except (OSError, ValueError, AttributeError):
        return False


def _chunk_index(key: str) -> tuple[int, ...] | None:
    """Chunk grid index of a chunk key (``c/0/1/2``, ``c.0.1.2``, ``0.1.2``, ``0/1/2``)."""
    parts = key.replace(".", "/").split("/")
    if parts and parts[0] == "c":
        parts = parts[1:]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return None


def check_complete(store: str | os.PathLike, live: np.ndarray | None = None) -> None:
    """Refuse a survey store that lost chunk files or arrays (no chunk data is read).

    A store with a manifest must hold exactly the chunk files it lists (number and total
    size). One without (written before facies recorded manifests) must hold its
    required arrays, every chunk of ``live``, chunk files of the full size where the
    array is uncompressed, and an amplitude chunk wherever a live trace lies (facies
    leaves out only chunks that hold nothing but the fill value; ``live``: the store's
    live mask, read by the caller).

    Raises:
        IncompleteStoreError: naming the store, what is missing and the fix.
    """
    path = Path(store)
    attrs = store_attrs(path)
    manifest = attrs.get(MANIFEST)
    source = attrs.get("source")
    fix = (
        f"ingest it again (facies ingest input={source or '<the SEG-Y>'} output={path} "
        "overwrite=true), or copy it again whole."
    )

    def refuse(what: str) -> IncompleteStoreError:
        return IncompleteStoreError(f"survey store {path} is incomplete: {what}; {fix}")

    if isinstance(manifest, dict) and isinstance(manifest.get("arrays"), dict):
        census = chunk_census(path)
        for name, recorded in manifest["arrays"].items():
            found = census.get(name)
            if found is None:
                raise refuse(f"its array {name!r} is gone")
            if found != recorded:
                raise refuse(
                    f"{name} holds {found['chunks']} chunk file(s) of {found['bytes']} bytes "
                    f"where {recorded['chunks']} of {recorded['bytes']} bytes were written"
                )
        return
    for name in REQUIRED_ARRAYS:
        if _array_meta(path / name) is None:
            raise refuse(f"its array {name!r} is missing")
    for name in sorted(p.name for p in path.iterdir() if p.is_dir()):
        meta = _array_meta(path / name)
        if meta is None:
            continue
        files = _chunk_files(path / name)
        size = meta["chunk_bytes"]
        torn = [key for key, n in files.items() if not _whole_size(meta, n)]
        if torn:
            raise refuse(f"{name} chunk {torn[0]} holds {files[torn[0]]} of its {size} bytes")
        grid = [math.ceil(s / c) for s, c in zip(meta["shape"], meta["chunks"], strict=True)]
        if name == LIVE and len(files) < math.prod(grid):
            raise refuse(f"{name} holds {len(files)} of its {math.prod(grid)} chunk(s)")
        if name == AMPLITUDE and live is not None:
            present = {_chunk_index(key) for key in files}
            ci, cx = meta["chunks"][:2]
            for index in np.ndindex(*grid):
                if index in present:
                    continue
                i, x = index[0], index[1]
                if live[i * ci : (i + 1) * ci, x * cx : (x + 1) * cx].any():
                    raise refuse(
                        f"amplitude chunk {'/'.join(map(str, index))} (inline indices "
                        f"{i * ci}..{min((i + 1) * ci, live.shape[0]) - 1}) is missing where "
                        "live traces lie, and the store records no manifest (made by an "
                        "older facies) to tell it from one left out for holding only zeros"
                    )
