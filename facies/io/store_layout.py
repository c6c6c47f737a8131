"""How a survey store is chunked, so that sections and time slices read little.

The section layout (store format 3), for a survey of ``nil`` inlines by ``nxl``
crosslines by ``ns`` samples (``c = max(1, ns // 10)``):

- ``amplitude`` and ``labels`` (the root group, what every reader opens): chunks
  ``(1, nxl, c)``. An inline section is ``ceil(ns / c)`` (10 or 11) chunk files holding
  exactly its samples; a time slice reads ``nil`` chunks, at most a tenth of the cube.
- ``live``, ``cdp_x``, ``cdp_y`` and ``trace_header``: chunks ``(1, nxl)``, so
  ``xr.open_zarr(store).chunks`` is one chunking per dimension.
- the group ``crossline_sections`` (:data:`CROSSLINE_GROUP`): ``amplitude`` and
  ``labels`` again, chunked ``(k, 1, ns)`` with ``k`` the inlines of an ingest block
  (:func:`crossline_chunk_inlines`, 8 or more): a crossline section is ``ceil(nil / k)``
  chunk files. It doubles the store's size and is what makes crossline reads fast;
  open it with :func:`open_crossline_sections` (``xr.open_dataset(store,
  group="crossline_sections", engine="zarr")``).

Readers discover the chunk shape from zarr (``survey[AMPLITUDE].encoding["chunks"]``).
Stores of formats 1 and 2 (chunks ``(32, 32, min(ns, 1024))``, :data:`LATERAL_CHUNK`,
no crossline copy) still open and read correctly; :func:`open_crossline_sections` gives
None for them. Cubes are uncompressed: read from the page cache, decompression costs more
than the bytes it saves (seismic floats compress by 10-20 % losslessly).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.io.segy import reader
from facies.names import CROSSLINE, DIMS, INLINE, SAMPLE

#: Chunk edge along inline and crossline of stores of formats 1 and 2 (and of stores
#: :func:`facies.io.datasets.ingest_dataset` writes); samples chunked by SAMPLE_CHUNK.
LATERAL_CHUNK = 32
SAMPLE_CHUNK = 1024
#: A trace is cut in at least this many sample chunks: a time slice reads a tenth.
SAMPLE_PIECES = 10
#: The group holding the crossline copy of the cubes.
CROSSLINE_GROUP = "crossline_sections"
#: Fewest inlines in a chunk of the crossline copy (and so in an ingest block).
MIN_CROSSLINE_INLINES = 8
#: An ingest block of inlines holds about this many bytes of float32 (half the
#: readers' block, :data:`facies.io.segy.reader.BLOCK_BYTES`: ingest holds two).
INGEST_BLOCK_DIVISOR = 2


def sample_chunk(ns: int) -> int:
    """Samples in a chunk of a trace: at most a tenth of the trace."""
    return max(1, ns // SAMPLE_PIECES)


def section_chunks(nxl: int, ns: int) -> tuple[int, int, int]:
    """Chunks of the root cubes: one inline, every crossline, a tenth of the samples."""
    return 1, nxl, sample_chunk(ns)


def crossline_chunk_inlines(nil: int, nxl: int, ns: int) -> int:
    """Inlines in a chunk of the crossline copy, the same as in an ingest block: about
    half the readers' block of float32 (at least :data:`MIN_CROSSLINE_INLINES`)."""
    block = reader.BLOCK_BYTES // INGEST_BLOCK_DIVISOR
    return max(1, min(nil, max(MIN_CROSSLINE_INLINES, block // max(1, nxl * ns * 4))))


def section_encoding(meta: xr.Dataset, nxl: int, ns: int) -> dict[str, dict[str, Any]]:
    """Chunks of the coordinates and the live mask matching the cubes' along each shared
    dimension (one inline, every crossline, a tenth of the samples)."""
    return _encoding(meta, {INLINE: 1, CROSSLINE: nxl, SAMPLE: sample_chunk(ns)})


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


def create_cube(group, name, shape, chunks, dtype, fill) -> zarr.Array:
    """An uncompressed (inline, crossline, sample) array of ``group``."""
    return group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=fill,
        dimension_names=list(DIMS),
        compressors=None,
    )


def create_crossline_group(store: Path, meta: xr.Dataset) -> zarr.Group:
    """The crossline copy's group, holding the survey's 1-D coordinates (so xarray opens
    it on its own), its cubes to be created in it."""
    coords = {name: var for name, var in meta.coords.items() if var.ndim == 1}
    xr.Dataset(coords=coords).to_zarr(store, group=CROSSLINE_GROUP, mode="a", consolidated=False)
    return zarr.open_group(store, path=CROSSLINE_GROUP, mode="a")


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
    """Writes whole chunks of a fresh uncompressed zarr 3 array as files, a block of
    inlines at a time: what ``array[start:stop] = block`` writes, without zarr's
    per-chunk machinery (3-4x the CPU on section chunks).

    Used only where the array's metadata is the plain one this writes (the ``bytes``
    codec, no compressor or filter, the default chunk keys); otherwise, and for blocks
    not aligned to the chunks, it hands the block to zarr. Like zarr, it writes no file
    for a chunk holding only the fill value.
    """

    def __init__(self, array: zarr.Array) -> None:
        self.array = array
        meta = array.metadata
        codecs = [type(c).__name__ for c in getattr(meta, "codecs", ())]
        store = array.store_path.store
        self.root = None
        if codecs == ["BytesCodec"] and isinstance(store, zarr.storage.LocalStore):
            self.root = Path(store.root) / array.store_path.path
        self.dtype = np.dtype(array.dtype).newbyteorder("<")
        self.fill = meta.fill_value
        self._folders: set[Path] = set()

    def write(self, start: int, block: np.ndarray) -> None:
        """Write inline rows ``start : start + len(block)`` of the array."""
        chunks, shape = self.array.chunks, self.array.shape
        stop = start + block.shape[0]
        aligned = start % chunks[0] == 0 and (stop % chunks[0] == 0 or stop == shape[0])
        if self.root is None or not aligned or block.shape[1:] != shape[1:]:
            self.array[start:stop] = block
            return
        steps = [range(0, n, c) for n, c in zip(block.shape, chunks, strict=True)]
        for i in steps[0]:
            for x in steps[1]:
                for s in steps[2]:
                    piece = block[i : i + chunks[0], x : x + chunks[1], s : s + chunks[2]]
                    if self._empty(piece):  # as zarr: no file for a chunk of fill values
                        continue
                    index = ((start + i) // chunks[0], x // chunks[1], s // chunks[2])
                    self._put(index, self._whole(piece, chunks))

    def _empty(self, piece: np.ndarray) -> bool:
        return not piece.any() if self.fill == 0 else bool(np.all(piece == self.fill))

    def _whole(self, piece: np.ndarray, chunks: tuple[int, ...]) -> np.ndarray:
        """The chunk as stored: C order, little-endian, padded with the fill value to the
        full chunk shape at the array's edges (as zarr 3 stores edge chunks)."""
        if piece.shape == tuple(chunks):
            return np.ascontiguousarray(piece, dtype=self.dtype)
        whole = np.full(chunks, self.fill, dtype=self.dtype)
        whole[tuple(slice(0, n) for n in piece.shape)] = piece
        return whole

    def _put(self, index: tuple[int, ...], chunk: np.ndarray) -> None:
        path = self.root / self.array.metadata.encode_chunk_key(index)
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        with open(path, "wb") as fh:
            fh.write(memoryview(chunk).cast("B"))
