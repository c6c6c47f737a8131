"""The prediction store: facies, confidence and (optionally) probabilities as zarr.

Separate processes may each predict a range of inlines into one store: it is created
atomically by whichever comes first, every process writes whole chunks of its own
range, and a marker file per finished block records what is done, so the final SEG-Y
is written only when every inline is covered and a rerun can skip finished blocks.

The store records a fingerprint of what it is made from (checkpoint, input survey,
options that change the values; see :func:`run_fingerprint`), and a random id. Runs
with another fingerprint are refused, so processes and reruns never mix predictions
of different models or surveys. Markers (``<store>.done/<start>_<stop>``) hold the id
of the store they belong to: markers left beside a deleted and remade store count
for nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.errors import FaciesError, OutputError
from facies.io import outputs
from facies.io.fingerprint import FingerprintCache, fingerprint
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
#: Store attributes: the fingerprint of the run and the store's id (in its markers).
FINGERPRINT = "prediction_fingerprint"
STORE_ID = "prediction_id"


def done_dir(store: Path) -> Path:
    return store.with_name(store.name + ".done")


def create_store(
    store: Path,
    coordinates: xr.Dataset,
    class_names: list[str],
    probabilities: bool,
    fingerprint: dict[str, Any] | None = None,
) -> Path:
    """Create the empty store unless another process already has (atomic rename).

    An existing ``store`` must be a prediction store (facies' own): anything else at
    that path is refused, never written into.
    """
    if store.exists() or store.is_symlink():
        if not outputs.is_facies_prediction_store(store):
            raise OutputError(
                f"store={store} exists and is not a prediction store made by facies "
                "predict; choose another store= (a new name ending in .zarr)."
            )
        return store
    tmp = store.with_name(f".{store.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        meta = coordinates.assign_coords({CLASS: np.arange(len(class_names))})
        meta.attrs = {
            **coordinates.attrs,
            "class_names": class_names,
            STORE_ID: uuid.uuid4().hex,
            FINGERPRINT: _json_ready(fingerprint),
        }
        meta.to_zarr(tmp, mode="w", consolidated=False)
        group = zarr.open_group(tmp, mode="a")
        nil, nxl, ns = (coordinates.sizes[d] for d in DIMS)
        chunks = (CHUNK, LATERAL_CHUNK, ns)
        group.create_array(FACIES, shape=(nil, nxl, ns), chunks=chunks, dtype=np.int16,
                           fill_value=NO_TRACE, dimension_names=list(DIMS))  # fmt: skip
        group.create_array(CONFIDENCE, shape=(nil, nxl, ns), chunks=chunks, dtype=np.float32,
                           fill_value=0.0, dimension_names=list(DIMS),
                           compressors=_float_codec())  # fmt: skip
        if probabilities:
            group.create_array(
                PROBABILITY,
                shape=(len(class_names), nil, nxl, ns),
                chunks=(1, *chunks),
                dtype=np.float32,
                fill_value=0.0,
                dimension_names=[CLASS, *DIMS],
                compressors=_float_codec(),
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


def _float_codec():
    """Probabilities' codec: LZ4 on byte-shuffled floats, about 4x cheaper to write than
    zarr's default zstd and as small (their low mantissa bits do not compress)."""
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")


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
    tmp = marker.with_name(f".{marker.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(str(group.attrs.get(STORE_ID, "")))
    os.replace(tmp, marker)  # a marker is whole or absent, whenever the process dies


def done_blocks(store: Path) -> set[tuple[int, int]]:
    """(start, stop) of the blocks finished in this store (markers holding its id)."""
    folder = done_dir(store)
    if not folder.is_dir() or not store.exists():
        return set()
    ident = str(zarr.open_group(store, mode="r").attrs.get(STORE_ID, ""))
    done = set()
    for path in folder.iterdir():
        try:
            start, stop = (int(v) for v in path.name.split("_"))
            if path.read_text() != ident:
                continue
        except (ValueError, OSError):  # not a marker, or one torn by a kill
            continue
        done.add((start, stop))
    return done


def covered_inlines(store: Path, n_inlines: int) -> np.ndarray:
    """Bool per inline index: predicted by a finished block of this store."""
    covered = np.zeros(n_inlines, dtype=bool)
    for start, stop in done_blocks(store):
        covered[start:stop] = True
    return covered


def _json_ready(value: Any) -> Any:
    """JSON-safe and as read back (tuples become lists), so fingerprints compare equal."""
    return json.loads(json.dumps(value))


def file_checksum(path: str | os.PathLike, chunk: int = 16 << 20) -> str:
    """BLAKE2b of a whole file (a checkpoint), read in chunks."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return f"blake2b:{digest.hexdigest()}"


def run_fingerprint(
    checkpoint: str | os.PathLike,
    source: str | os.PathLike,
    options: dict[str, Any],
    fingerprints: FingerprintCache | None = None,
) -> dict[str, Any]:
    """What the values in a prediction store depend on.

    The checkpoint by a checksum of its bytes; the input survey by its size and the
    checksum of its headers (SEG-Y) or metadata (store), the fingerprint
    ``provenance.json`` records (sample values are not read), and neither its path nor
    its modification time: a copy (``cp`` without ``-p``, one per node) or a ``touch``
    holds the same survey. ``options``: whatever else changes the values (window,
    overlap, directions, normalisation, geometry options). Batch size, device, block
    size and inline range do not, and are left out. ``fingerprints``: the run's cache,
    the one ``provenance.json`` was written with, so the input's trace headers are read
    once per run (None reads them here).
    """
    survey = fingerprint(source, fingerprints)
    survey.pop("path", None)  # the same survey may be reached by another path
    return _json_ready(
        {
            "checkpoint": file_checksum(checkpoint),
            "input": survey,
            "options": options,
        }
    )


def check_fingerprint(store: Path, expected: dict[str, Any]) -> None:
    """Refuse a store made from another checkpoint, survey or options."""
    try:
        found = zarr.open_group(store, mode="r").attrs.get(FINGERPRINT)
    except Exception as err:  # not a zarr group at all
        raise OutputError(
            f"store={store} exists and is not a prediction store ({err}); "
            "pass another store= or remove it."
        ) from None
    expected = _json_ready(expected)
    if found == expected:
        return
    if not isinstance(found, dict):
        raise OutputError(
            f"store={store} exists but records no prediction fingerprint (not made by "
            "facies predict, or by an older version), so its predictions cannot be "
            "trusted to match this run; pass another store= or remove it (and "
            f"{done_dir(store)})."
        )
    differ = [key for key in expected if found.get(key) != expected[key]]
    if "options" in differ:
        old, new = found.get("options") or {}, expected["options"]
        names = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        differ[differ.index("options")] = (
            "options (" + ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in names) + ")"
        )
    raise OutputError(
        f"store={store} holds predictions made with a different " + ", ".join(differ) + ". "
        "Resume with the same checkpoint, input and options, or pass another store= "
        "(or remove it) to start afresh."
    )


def check_complete(store: Path, n_inlines: int) -> None:
    """Refuse to go on while some inline has no prediction yet."""
    covered = covered_inlines(store, n_inlines)
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
