"""How a survey store is chunked, so that sections and time slices read little.

The section layout (store format 3), for a survey of ``nil`` inlines by ``nxl``
crosslines by ``ns`` samples (``c = max(1, ns // 10)``):

- ``amplitude`` and ``labels`` (the root group, what every reader opens): chunks
  ``(1, nxl, c)``, an inline's chunks in one shard (file, :func:`section_shards`). An
  inline section reads one file; a time slice reads one chunk of each shard (and its
  index), at most a tenth of the cube.
- ``live``, ``cdp_x``, ``cdp_y`` and ``trace_header``: chunks ``(1, nxl)`` (so
  ``xr.open_zarr(store).chunks`` is one chunking per dimension), in shards of many
  inlines (:func:`plane_shards`; ``trace_header``: an ingest block).
- the group ``crossline_sections`` (:data:`CROSSLINE_GROUP`): ``amplitude`` and
  ``labels`` again, chunked ``(k, 1, ns)`` with ``k`` every inline of most surveys
  (:func:`crossline_chunk_inlines`: at most :data:`CROSSLINE_CHUNK_BYTES` a chunk): a
  crossline section is ``ceil(nil / k)`` chunk files, usually one. It doubles the
  store's size and is what makes crossline reads fast; open it with
  :func:`open_crossline_sections` (``xr.open_dataset(store, group="crossline_sections",
  engine="zarr")``).

Chunk files are named ``c.i.j.k`` in their array's folder (:data:`CHUNK_KEYS`), and
ingest writes them itself (:class:`ChunkWriter`, the bytes zarr would write): creating
files and folders, not writing bytes, was most of an ingest's time, hence shards and
few files (about ``2 nil + nxl`` a store).

Readers discover the chunk shape from zarr (``survey[AMPLITUDE].encoding["chunks"]``;
``["shards"]`` the file). Stores of formats 1 and 2 (chunks ``(32, 32, min(ns, 1024))``,
:data:`LATERAL_CHUNK`, no crossline copy) still open and read correctly;
:func:`open_crossline_sections` gives None for them. Cubes are uncompressed: read from
the page cache, decompression costs more than the bytes it saves (seismic floats
compress by 10-20 % losslessly).
"""

from __future__ import annotations

import itertools
import math
import os
import resource
import threading
from pathlib import Path
from typing import Any

import google_crc32c
import numpy as np
import xarray as xr
import zarr
from numcodecs import Zstd

from facies.names import CROSSLINE, DIMS, INLINE, SAMPLE

#: Chunk edge along inline and crossline of stores of formats 1 and 2 (and of stores
#: :func:`facies.io.datasets.ingest_dataset` writes); samples chunked by SAMPLE_CHUNK.
LATERAL_CHUNK = 32
SAMPLE_CHUNK = 1024
#: A trace is cut in at least this many sample chunks: a time slice reads a tenth.
SAMPLE_PIECES = 10
#: The group holding the crossline copy of the cubes.
CROSSLINE_GROUP = "crossline_sections"
#: Fewest inlines in a chunk of the crossline copy.
MIN_CROSSLINE_INLINES = 8
#: Most float32 bytes in a chunk of the crossline copy (a crossline of that many bytes
#: or fewer is one chunk file).
CROSSLINE_CHUNK_BYTES = 16 * 2**20
#: Chunk files are named ``c.0.12.3`` in the array's folder: no folder per chunk row
#: (creating tens of thousands of folders cost more than writing the chunks).
CHUNK_KEYS = {"name": "default", "separator": "."}


def sample_chunk(ns: int) -> int:
    """Samples in a chunk of a trace: at most a tenth of the trace."""
    return max(1, ns // SAMPLE_PIECES)


def section_chunks(nxl: int, ns: int) -> tuple[int, int, int]:
    """Chunks of the root cubes: one inline, every crossline, a tenth of the samples."""
    return 1, nxl, sample_chunk(ns)


def section_shards(nxl: int, ns: int) -> tuple[int, int, int]:
    """Shards of the root cubes: one inline's chunks in one file (a whole number of
    chunks: the last padded past the trace's end)."""
    c = sample_chunk(ns)
    return 1, nxl, -(-ns // c) * c


def crossline_chunk_inlines(nil: int, nxl: int, ns: int) -> int:
    """Inlines in a chunk of the crossline copy: as many as fill
    :data:`CROSSLINE_CHUNK_BYTES` of float32 (every inline of most surveys: a crossline
    section is then one file). Ingest writes these chunks a block of inlines at a
    time (:class:`ChunkWriter`), so the chunk does not bound the ingest block."""
    return max(1, min(nil, max(MIN_CROSSLINE_INLINES, CROSSLINE_CHUNK_BYTES // max(1, ns * 4))))


def section_encoding(meta: xr.Dataset, nxl: int, ns: int) -> dict[str, dict[str, Any]]:
    """Chunks of the coordinates and the live mask matching the cubes' along each shared
    dimension (one inline, every crossline, a tenth of the samples); the 2-D arrays
    uncompressed, in one shard (:func:`plane_shards`) with flat chunk keys, for
    :class:`ChunkWriter`."""
    encoding = _encoding(meta, {INLINE: 1, CROSSLINE: nxl, SAMPLE: sample_chunk(ns)})
    for name, var in meta.variables.items():
        if var.ndim == 2:
            shards = plane_shards(*var.shape, var.dtype.itemsize)
            encoding[name].update(compressors=None, chunk_key_encoding=CHUNK_KEYS, shards=shards)
    return encoding


def plane_shards(nil: int, nxl: int, itemsize: int) -> tuple[int, int]:
    """Shards of a 2-D (inline, crossline) array chunked by inline: as many inlines as
    hold :data:`CROSSLINE_CHUNK_BYTES` (every inline of most surveys: one file, where
    its chunks made a file an inline, costly to create)."""
    return max(1, min(nil, CROSSLINE_CHUNK_BYTES // max(1, nxl * itemsize))), nxl


def legacy_encoding(meta: xr.Dataset, ns: int) -> dict[str, dict[str, Any]]:
    """The coordinates' chunks of the 32 x 32 layout (stores of formats 1 and 2)."""
    return _encoding(
        meta, {INLINE: LATERAL_CHUNK, CROSSLINE: LATERAL_CHUNK, SAMPLE: min(ns, SAMPLE_CHUNK)}
    )


def _encoding(meta: xr.Dataset, edge: dict[str, int]) -> dict[str, dict[str, Any]]:
    return {
        name: {"chunks": tuple(min(edge.get(d, n), n) for d, n in var.sizes.items())}
        for name, var in meta.variables.items()
        if name not in meta.dims
    }


def create_cube(group, name, shape, chunks, dtype, fill, shards=None) -> zarr.Array:
    """An uncompressed (inline, crossline, sample) array of ``group``."""
    return group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        shards=shards,
        dtype=dtype,
        fill_value=fill,
        dimension_names=list(DIMS),
        compressors=None,
        chunk_key_encoding=CHUNK_KEYS,
    )


def create_crossline_group(store: Path, meta: xr.Dataset) -> zarr.Group:
    """The crossline copy's group, holding the survey's 1-D coordinates (so xarray opens
    it on its own), its cubes to be created in it."""
    coords = {name: var for name, var in meta.coords.items() if var.ndim == 1}
    xr.Dataset(coords=coords).to_zarr(store, group=CROSSLINE_GROUP, mode="a", consolidated=False)
    return zarr.open_group(store, path=CROSSLINE_GROUP, mode="a")


def _names(codecs) -> list[str]:
    return [type(c).__name__ for c in codecs]


def _plain_shards(codec) -> bool:
    """A sharding codec :class:`ChunkWriter` writes: uncompressed inner chunks, the index
    at the end as uint64 with a CRC32C (zarr's defaults)."""
    index = _names(codec.index_codecs)
    location = getattr(codec.index_location, "value", codec.index_location)
    return index == ["BytesCodec", "Crc32cCodec"] and location == "end"


def open_crossline_sections(store: str | os.PathLike) -> xr.Dataset | None:
    """The crossline copy of a store's cubes, opened lazily (None for a store without
    one: formats 1 and 2). Read crossline sections from it: ``sections[AMPLITUDE]
    .sel(crossline=k)`` reads ``ceil(nil / k)`` chunks where the root cube reads all."""
    path = Path(store)
    if not (path / CROSSLINE_GROUP / "zarr.json").is_file():
        return None
    return xr.open_dataset(
        path, group=CROSSLINE_GROUP, engine="zarr", consolidated=False, chunks=None, cache=False
    )


class ChunkWriter:
    """Writes the chunks of a fresh zarr 3 array as files, a block of rows (along the
    first axis: inlines) at a time: what ``array[start:stop] = block`` writes, without
    zarr's per-chunk machinery (3-4x the CPU on section chunks, ~1 ms a chunk).

    Blocks follow one another along the first axis, in any size. An uncompressed chunk
    spanning more rows than a block is written a slab at a time (its rows for the
    block lie at one offset in its file, C order), so a chunk of the crossline copy may
    hold every inline while ingest holds a block; the slab that reaches the array's
    last row pads the chunk to its full shape with the fill value, as zarr stores edge
    chunks. A compressed (zstd) chunk is written whole, by the block that completes it
    (zarr writes a part of one). Like zarr, no file is written for a chunk written whole
    in one block that holds only the fill value, unless ``write_empty``; a chunk
    written in slabs always gets its file.

    Used where the array's codecs are ``bytes`` (little-endian), optionally followed by
    ``zstd``, in a local store; otherwise, and for blocks that do not span every other
    axis, it hands the block to zarr.
    """

    def __init__(self, array: zarr.Array, write_empty: bool = False) -> None:
        self.array = array
        self.write_empty = write_empty
        meta = array.metadata
        codecs = list(getattr(meta, "codecs", ()))
        store = array.store_path.store
        self.root = None
        self.compressor = None
        #: the chunk grid written: shards of a sharded array, else its chunks
        self.grid = tuple(array.shards or array.chunks)
        self.inner = None  # the chunks inside a shard
        if _names(codecs) == ["ShardingCodec"] and _plain_shards(codecs[0]):
            self.inner = tuple(codecs[0].chunk_shape)
            codecs = list(codecs[0].codecs)
        names = _names(codecs)
        little = bool(codecs) and getattr(codecs[0].endian, "value", "little") == "little"
        if names[1:] == ["ZstdCodec"]:
            self.compressor = Zstd(level=codecs[1].level, checksum=codecs[1].checksum)
        plain = names == ["BytesCodec"] or self.compressor is not None
        if plain and little and isinstance(store, zarr.storage.LocalStore):
            self.root = Path(store.root) / array.store_path.path
        self.dtype = np.dtype(array.dtype).newbyteorder("<")
        self.fill = meta.fill_value
        self._folders: set[Path] = set()
        self._files: dict[tuple[int, ...], int] = {}  # chunks written in part: open files

    def close(self) -> None:
        """Close the files of chunks written in part (an error cut the writing short)."""
        while self._files:
            _, fd = self._files.popitem()
            os.close(fd)
            _release_file()

    def write(self, start: int, block: np.ndarray, empty: np.ndarray | None = None) -> None:
        """Write rows ``start : start + len(block)`` of the array.

        ``empty``: which rows of the block the caller knows hold only the fill value (a
        boolean per row, e.g. inlines without a live trace): a whole chunk is then left
        out when all its rows are, without reading the block to find out.
        """
        chunks, shape = self.grid, self.array.shape
        stop = start + block.shape[0]
        if self.root is None or block.shape[1:] != shape[1:]:
            self.array[start:stop] = block
            return
        ci = chunks[0]
        for row in range(start // ci, (stop - 1) // ci + 1):
            lo, hi = max(start, row * ci), min(stop, (row + 1) * ci)
            whole = lo == row * ci and (hi == (row + 1) * ci or hi == shape[0])
            rows = block[lo - start : hi - start]
            skip = None if empty is None else bool(np.all(empty[lo - start : hi - start]))
            if whole or (self.compressor is None and self.inner is None):
                self._write_rows(row, lo - row * ci, rows, whole, skip)
            else:  # a part of a compressed chunk or a shard: zarr reads, merges, writes it
                self.array[lo:hi] = rows

    def _write_rows(
        self, row: int, first: int, rows: np.ndarray, whole: bool, empty: bool | None
    ) -> None:
        """Rows ``first:first + len(rows)`` (within chunk row ``row``) of every chunk of
        that row; ``whole``: they are its chunks' every row; ``empty``: they hold only
        the fill value (None: look)."""
        if whole and empty and not self.write_empty:
            return
        chunks, shape = self.grid, self.array.shape
        ends = first + len(rows) == chunks[0] or row * chunks[0] + first + len(rows) == shape[0]
        pad = chunks[0] - first - len(rows) if ends else 0  # past the array's last row
        row_bytes = self.dtype.itemsize * math.prod(chunks[1:])
        steps = [range(0, n, c) for n, c in zip(shape[1:], chunks[1:], strict=True)]
        for corner in itertools.product(*steps):
            where = tuple(slice(c, c + n) for c, n in zip(corner, chunks[1:], strict=True))
            piece = rows[(slice(None), *where)]
            if whole and empty is None and not self.write_empty and self._empty(piece):
                continue  # as zarr: no file for a chunk of fill values
            index = (row, *(c // n for c, n in zip(corner, chunks[1:], strict=True)))
            slab = self._slab(piece, pad, chunks)
            if self.inner is not None:
                data = memoryview(self._shard(slab, piece.shape))
            elif self.compressor is not None:
                data = memoryview(self.compressor.encode(slab))
            else:
                data = memoryview(slab).cast("B")
            done = whole or pad or first + len(rows) == chunks[0]
            self._put(index, first * row_bytes, data, truncate=whole, done=done)

    def _shard(self, slab: np.ndarray, extent: tuple[int, ...]) -> bytes:
        """A whole shard as zarr stores it: its inner chunks in C order (each compressed
        if the array is), then the index (offset and size of each, uint64 little-endian;
        all ones for an inner chunk wholly past the array's end, which is not stored)
        and the index's CRC32C (the default index codecs, :func:`_plain_shards`).
        ``extent``: the rows and columns of ``slab`` inside the array."""
        steps = [range(0, n, c) for n, c in zip(slab.shape, self.inner, strict=True)]
        pieces, index, offset = [], [], 0
        for corner in itertools.product(*steps):
            if any(c >= n for c, n in zip(corner, extent, strict=True)):
                index.append((_NO_CHUNK, _NO_CHUNK))
                continue
            where = tuple(slice(c, c + n) for c, n in zip(corner, self.inner, strict=True))
            piece = np.ascontiguousarray(slab[where])
            piece = self.compressor.encode(piece) if self.compressor else piece.tobytes()
            pieces.append(piece)
            index.append((offset, len(piece)))
            offset += len(piece)
        table = np.asarray(index, dtype="<u8").tobytes()
        checksum = np.asarray(google_crc32c.value(table), dtype="<u4").tobytes()
        return b"".join([*pieces, table, checksum])

    def _empty(self, piece: np.ndarray) -> bool:
        return not piece.any() if self.fill == 0 else bool(np.all(piece == self.fill))

    def _slab(self, piece: np.ndarray, pad: int, chunks: tuple[int, ...]) -> np.ndarray:
        """The rows as stored: C order, little-endian, padded with the fill value to the
        chunk's extent along the other axes (and ``pad`` rows past the array's end)."""
        shape = (piece.shape[0] + pad, *chunks[1:])
        if piece.shape == shape:
            return np.ascontiguousarray(piece, dtype=self.dtype)
        slab = np.full(shape, self.fill, dtype=self.dtype)
        slab[tuple(slice(0, n) for n in piece.shape)] = piece
        return slab

    def _put(self, index, offset: int, data: memoryview, truncate: bool, done: bool) -> None:
        """Write ``data`` at ``offset`` of the chunk's file; ``done``: the chunk is then
        complete. A chunk written in slabs keeps its file open between them (while the
        process may hold more files: :func:`_hold_file`), as reopening each chunk for
        each block cost more than the writes."""
        fd = self._files.pop(index, None)
        if fd is None:
            path = self.root / self.array.metadata.encode_chunk_key(index)
            if path.parent not in self._folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(path.parent)
            flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else 0)
            fd = os.open(path, flags, 0o644)
        else:
            _release_file()
        try:
            written = 0
            while written < len(data):  # pwrite may write less than asked
                written += os.pwrite(fd, data[written:], offset + written)
        except BaseException:
            os.close(fd)
            raise
        if not done and _hold_file():
            self._files[index] = fd
        else:
            os.close(fd)


#: A shard index entry (offset, size) of an inner chunk that is not stored.
_NO_CHUNK = 2**64 - 1
#: Files that ChunkWriters of this process hold open, and the most they may.
_HELD = {"files": 0}
_HELD_LOCK = threading.Lock()


def _hold_file() -> bool:
    """Count one more file held open, if the process may hold it: half its limit of
    open files, less a reserve."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    most = (soft if soft != resource.RLIM_INFINITY else 1 << 16) // 2 - 64
    with _HELD_LOCK:
        if _HELD["files"] >= most:
            return False
        _HELD["files"] += 1
        return True


def _release_file() -> None:
    with _HELD_LOCK:
        _HELD["files"] -= 1
