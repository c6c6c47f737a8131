"""Training patches and held-out sections read from the survey store as they are needed,
for surveys that do not fit in memory (``data.in_memory=false``).

Training (:class:`StreamedPatchBatches`): an epoch draws the same rows as in memory (the
same :class:`~facies.data.sharding.Shard`: seed, epoch, draw budget, DDP rank); they are
grouped by the region of the store they lie in (:mod:`facies.data.regions`), the regions
are visited in an order drawn from (seed, epoch, rank), and the rows of each window of
:data:`WINDOW` consecutive regions are shuffled together. Each region is read once an
epoch, by a background thread that keeps :data:`AHEAD` regions ready while batches are
cut and trained on (when training on a GPU; on the CPU, where training takes every core,
each region is read when needed); a region is let go as soon as its last patch is cut.
At most about ``2 x WINDOW + AHEAD + 1`` regions are held at once, whatever the
survey's size. Every
drawn patch is seen exactly once an epoch; the order differs from the in-memory path's
but is as deterministic (per seed, epoch and rank), and the augmentation is the same.

Held-out splits (:class:`StoreSections`): whole sections, read in slabs of a chunk's
lines (a small cache of slabs), cut with the same gather as in memory.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import xarray as xr

from facies.data.blocks import Box, NonFinite
from facies.data.normalization import NormStats
from facies.data.patches import PatchBatches
from facies.data.regions import RegionGrid, cut_region, read_region, store_chunks
from facies.data.tiling import CROSSLINE_SECTION, INLINE_SECTION, PatchTable
from facies.data.volume import Volume
from facies.names import IGNORE_INDEX, LIVE

#: Regions whose rows are shuffled together.
WINDOW = 4
#: Regions the background thread keeps read ahead.
AHEAD = 2
#: Held-out slabs kept (sections are read in order: the next batch mostly needs the last).
HELD_SLABS = 2


class RegionReader:
    """Reads regions of one survey as normalised :class:`Volume` s: patches of inline
    sections from the store's cubes, patches of crossline sections from its crossline
    copy where it has one (chunked for crossline reads, :mod:`facies.io.store_layout`)."""

    def __init__(
        self,
        survey: xr.Dataset,
        stats: NormStats,
        mask_nonfinite: bool,
        crossline_copy: xr.Dataset | None = None,
    ) -> None:
        self.survey, self.stats = survey, stats
        self.sources = {INLINE_SECTION: survey, CROSSLINE_SECTION: crossline_copy or survey}
        self.live = np.asarray(survey[LIVE].values)
        self.ignore_label = survey.attrs.get("ignore_label")
        self.nonfinite = NonFinite() if mask_nonfinite else None
        self.ignore_index = IGNORE_INDEX
        #: Regions read ahead by a background thread while batches train (0: each read
        #: when needed, in the training thread: on the CPU, where training takes every
        #: core, a reading thread only competes with it).
        self.ahead = AHEAD
        #: Batches go to a CUDA device: they are handed over in pinned host memory, so
        #: the copy to the device runs without blocking (Lightning copies non_blocking).
        self.pin = False
        self._lock = threading.Lock()

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.survey.sizes[d] for d in ("inline", "crossline", "sample"))

    @property
    def chunks(self) -> dict[int, tuple[int, int]]:
        """(inlines, crosslines) of the chunks each section kind is read from."""
        return {kind: store_chunks(source) for kind, source in self.sources.items()}

    def read(self, region: tuple[int, Box]) -> Volume:
        """The region (section kind, box)."""
        kind, box = region
        counts = None if self.nonfinite is None else NonFinite()
        volume = read_region(
            self.sources[kind], box, self.stats, self.live, self.ignore_label, counts
        )
        if counts is not None and counts.samples:
            with self._lock:
                self.nonfinite.samples += counts.samples
                self.nonfinite.traces += counts.traces
        return volume


def crossline_copy(survey: xr.Dataset) -> xr.Dataset | None:
    """The crossline copy of the store ``survey`` was opened from, or None (a survey in
    memory, or a store without one)."""
    source = survey.encoding.get("source")
    if not source:
        return None
    from facies.io.store_layout import open_crossline_sections

    try:
        return open_crossline_sections(source)
    except (OSError, ValueError, KeyError):
        return None


class Prefetch:
    """Reads ``boxes`` in order in a background thread, at most ``ahead`` ready before
    they are taken; an error in the thread is raised by :meth:`next`. With ``ahead=0``
    each is read when taken, in the caller's thread."""

    def __init__(
        self,
        read: Callable[[tuple[int, Box]], Volume],
        boxes: Iterable[tuple[int, Box]],
        ahead: int,
    ) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        self._stop = threading.Event()
        self._thread = None
        if ahead <= 0:
            self._boxes, self._read = iter(list(boxes)), read
            return
        self._thread = threading.Thread(
            target=self._run, args=(read, list(boxes)), name="facies-prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, read: Callable[[tuple[int, Box]], Volume], boxes: list) -> None:
        try:
            for box in boxes:
                if not self._put(read(box)):
                    return
        except BaseException as err:  # handed to the consumer, raised there
            self._put(err)

    def next(self) -> Volume:
        if self._thread is None:
            return self._read(next(self._boxes))
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        while True:  # unblock a waiting put and let the regions go
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=30)


def pinned(batch: dict) -> dict:
    """``batch`` with its tensors in page-locked host memory (for non-blocking copies)."""
    return {k: v.pin_memory() if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def merge(parts: list[dict], where: list[np.ndarray]) -> dict:
    """One batch of the batches ``parts``, whose rows are at ``where`` in it."""
    if len(parts) == 1:
        return parts[0]
    order = torch.as_tensor(np.argsort(np.concatenate(where)))
    return {key: torch.cat([p[key] for p in parts])[order] for key in parts[0]}


class StreamedPatchBatches(PatchBatches):
    """Training batches of a patch table cut from regions read as the epoch goes (see the
    module doc); the same rows, batch count and augmentation as
    :class:`~facies.data.patches.PatchBatches`, whose arguments it takes after ``reader``
    (in the volume's place) and ``grid``, and ``window`` (regions shuffled together).

    ``held_max`` is the most regions held at once in the last epoch (tests check it)."""

    def __init__(
        self, reader: RegionReader, grid: RegionGrid, *args, window: int = WINDOW, **kwargs
    ) -> None:
        super().__init__(reader, *args, **kwargs)
        self.reader, self.grid = reader, grid
        self.window = max(1, window)
        self.held_max = 0

    def plan(
        self, rows: np.ndarray, epoch: int
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, Box]]]:
        """The epoch's order of ``rows`` (indices into them), each row's region position,
        and the regions (section kind, box) in the order they are read."""
        keys = self.grid.keys(self.table, rows)
        unique, inverse = np.unique(keys, return_inverse=True)
        rank, stream = self.sampler.rank, self.sampler.stream
        rng = np.random.default_rng([self.sampler.seed, epoch, rank, stream, len(unique)])
        visit = rng.permutation(len(unique)) if self.shuffle else np.arange(len(unique))
        position_of = np.empty(len(unique), dtype=np.int64)
        position_of[visit] = np.arange(len(unique))
        position = position_of[inverse]
        within = rng.random(len(rows)) if self.shuffle else np.arange(len(rows))
        order = np.lexsort((within, position // self.window))
        by_region = np.argsort(position, kind="stable")
        bounds = np.searchsorted(position[by_region], np.arange(len(unique) + 1))
        boxes = []
        for p in range(len(unique)):
            key, members = unique[visit[p]], rows[by_region[bounds[p] : bounds[p + 1]]]
            boxes.append((self.grid.kind(key), self.grid.box(key, self.table, members)))
        return order, position, boxes

    def __iter__(self) -> Iterator[dict]:
        epoch = self.sampler.next_epoch()
        rows, scored = self.sampler.rows(epoch)
        rng, generator = self.sampler.generators(epoch)
        augmenting = self.augmentation.get("enabled", False)
        order, position, boxes = self.plan(rows, epoch)
        remaining = np.bincount(position, minlength=len(boxes))
        prefetch = Prefetch(self.reader.read, boxes, self.reader.ahead)
        held: dict[int, Volume] = {}
        loaded = 0
        self.held_max = 0
        try:
            for start in range(0, len(order), self.batch_size):
                picked = order[start : start + self.batch_size]
                batch_rows, places = rows[picked], position[picked]
                flip = rng.random(len(picked)) < 0.5 if augmenting else None
                parts, where = [], []
                for p in np.unique(places):  # regions come in this order
                    while p not in held:
                        held[loaded] = prefetch.next()
                        loaded += 1
                        self.held_max = max(self.held_max, len(held))
                    at = np.flatnonzero(places == p)
                    parts.append(
                        cut_region(held[p], boxes[p][1], self.table, batch_rows[at], self.size,
                                   None if flip is None else flip[at])
                    )  # fmt: skip
                    where.append(at)
                    remaining[p] -= len(at)
                    if remaining[p] == 0:
                        del held[p]
                batch = merge(parts, where)
                batch = self.finish(batch, ~scored[picked], generator if augmenting else None)
                yield pinned(batch) if self.reader.pin else batch
        finally:
            prefetch.close()
            held.clear()


class StoreSections:
    """Whole held-out sections read from the store when cut: what
    :class:`~facies.data.patches.PatchBatches` cuts from for validation and test, in place
    of a :class:`Volume`. Sections are read in slabs (``grid``'s tiles: a chunk's lines),
    the last :data:`HELD_SLABS` kept; batches go to the device of :meth:`to`."""

    def __init__(self, reader: RegionReader, grid: RegionGrid, slabs: int = HELD_SLABS) -> None:
        self.reader, self.grid, self.slabs = reader, grid, slabs
        self.ignore_index = IGNORE_INDEX
        self.target: torch.device | None = None
        self._held: OrderedDict[tuple[int, Box], Volume] = OrderedDict()

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.reader.shape

    @property
    def device(self) -> torch.device:
        """Where rows are indexed: the host (the slabs are read there)."""
        return torch.device("cpu")

    def to(self, device: torch.device | str) -> StoreSections:
        self.target = torch.device(device)
        return self

    def release(self) -> None:
        """Let the slabs read go (at the end of an evaluation pass)."""
        self._held.clear()

    def _slab(self, region: tuple[int, Box]) -> Volume:
        if region in self._held:
            self._held.move_to_end(region)
            return self._held[region]
        volume = self.reader.read(region)
        self._held[region] = volume
        while len(self._held) > self.slabs:
            self._held.popitem(last=False)
        return volume

    def cut(
        self,
        table: PatchTable,
        rows: np.ndarray | torch.Tensor,
        size: tuple[int, int],
        flip: np.ndarray | None = None,
    ) -> dict:
        rows = np.asarray(rows.cpu() if isinstance(rows, torch.Tensor) else rows)
        keys = self.grid.keys(table, rows)
        parts, where = [], []
        for key in np.unique(keys):
            at = np.flatnonzero(keys == key)
            box = self.grid.box(key, table, rows[at])
            part_flip = None if flip is None else np.asarray(flip)[at]
            volume = self._slab((self.grid.kind(key), box))
            parts.append(cut_region(volume, box, table, rows[at], size, part_flip))
            where.append(at)
        batch = merge(parts, where)
        if self.target is not None and self.target.type != "cpu":
            batch = {k: v.to(self.target, non_blocking=True) for k, v in batch.items()}
        return batch


class ReleasingBatches:
    """Held-out batches whose :class:`StoreSections` let their slabs go once a pass ends,
    so nothing read for evaluation stays held while training goes on."""

    def __init__(self, batches: Iterable[dict], sources: list[StoreSections]) -> None:
        self.batches, self.sources = batches, sources

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[dict]:
        try:
            yield from self.batches
        finally:
            for source in self.sources:
                source.release()
