"""The prediction store: facies, confidence and (optionally) probabilities as zarr.

Separate processes may each predict a range of inlines into one store: it is created
atomically by whichever comes first, every process writes whole chunks of its own
range, and a marker file per finished block records what is done, so the final SEG-Y
is written only when every inline is covered and a rerun can skip finished blocks.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from facies.errors import FaciesError
from facies.names import DIMS

FACIES = "facies"
CONFIDENCE = "confidence"
PROBABILITY = "probability"
CLASS = "class"
#: Chunk size along inline (blocks of inlines are multiples of it) and crossline.
CHUNK = 4
LATERAL_CHUNK = 64
#: Facies value of cells without a trace.
NO_TRACE = -1


def done_dir(store: Path) -> Path:
    return store.with_name(store.name + ".done")


def create_store(
    store: Path,
    coordinates: xr.Dataset,
    class_names: list[str],
    probabilities: bool,
) -> Path:
    """Create the empty store unless another process already has (atomic rename)."""
    if store.exists():
        return store
    tmp = store.with_name(f".{store.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        meta = coordinates.assign_coords({CLASS: np.arange(len(class_names))})
        meta.attrs = {**coordinates.attrs, "class_names": class_names}
        meta.to_zarr(tmp, mode="w", consolidated=False)
        group = zarr.open_group(tmp, mode="a")
        nil, nxl, ns = (coordinates.sizes[d] for d in DIMS)
        chunks = (CHUNK, LATERAL_CHUNK, ns)
        group.create_array(FACIES, shape=(nil, nxl, ns), chunks=chunks, dtype=np.int16,
                           fill_value=NO_TRACE, dimension_names=list(DIMS))  # fmt: skip
        group.create_array(CONFIDENCE, shape=(nil, nxl, ns), chunks=chunks, dtype=np.float32,
                           fill_value=0.0, dimension_names=list(DIMS))  # fmt: skip
        if probabilities:
            group.create_array(
                PROBABILITY,
                shape=(len(class_names), nil, nxl, ns),
                chunks=(1, *chunks),
                dtype=np.float32,
                fill_value=0.0,
                dimension_names=[CLASS, *DIMS],
            )
        done_dir(store).mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, store)
        except OSError:  # another process created it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return store


def write_block(store: Path, start: int, stop: int, result: dict[str, np.ndarray]) -> None:
    """Write inline indices ``start:stop`` of each array, then mark the block done."""
    group = zarr.open_group(store, mode="r+")
    for name, values in result.items():
        if name == PROBABILITY:
            if PROBABILITY in group:
                group[PROBABILITY][:, start:stop] = values
        else:
            group[name][start:stop] = values
    marker = done_dir(store) / f"{start}_{stop}"
    marker.touch()


def done_blocks(store: Path) -> set[tuple[int, int]]:
    folder = done_dir(store)
    if not folder.is_dir():
        return set()
    return {tuple(int(v) for v in p.name.split("_")) for p in folder.iterdir()}


def check_complete(store: Path, n_inlines: int) -> None:
    """Refuse to go on while some inline has no prediction yet."""
    covered = np.zeros(n_inlines, dtype=bool)
    for start, stop in done_blocks(store):
        covered[start:stop] = True
    if not covered.all():
        missing = np.flatnonzero(~covered)
        raise FaciesError(
            f"{store}: {len(missing)} inline(s) have no prediction yet (first index "
            f"{missing[0]}); run facies predict on the missing range before writing SEG-Y."
        )


def open_prediction(store: Path) -> xr.Dataset:
    return xr.open_zarr(store, consolidated=False, chunks=None)


class BoxReader:
    """``values_at(il_index, xl_index)`` for the SEG-Y writer, read from the store.

    Each call reads the bounding box of the requested cells (small for inline- or
    crossline-sorted files) and splits requests whose box would be large.
    """

    def __init__(self, store: Path, name: str = FACIES, max_cells: int = 1 << 16) -> None:
        self.array = zarr.open_group(store, mode="r")[name]
        self.max_cells = max_cells

    def __call__(self, il: np.ndarray, xl: np.ndarray) -> np.ndarray:
        lo_i, hi_i, lo_x, hi_x = il.min(), il.max() + 1, xl.min(), xl.max() + 1
        if (hi_i - lo_i) * (hi_x - lo_x) > max(self.max_cells, 4 * len(il)) and len(il) > 1:
            half = len(il) // 2
            return np.concatenate([self(il[:half], xl[:half]), self(il[half:], xl[half:])])
        box = self.array[lo_i:hi_i, lo_x:hi_x]
        return box[il - lo_i, xl - lo_x]
