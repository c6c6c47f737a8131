"""Write a survey store from blocks of inlines: the one path both ingests take.

:class:`SurveyStoreWriter` is what ``facies ingest`` of SEG-Y
(:func:`facies.io.store.ingest_segy`) and of MDIO or segysak datasets
(:func:`facies.io.datasets.ingest_dataset`) write through::

    with SurveyStoreWriter(out, meta, has_labels=True, ignore_label=0, record=record) as w:
        for start, stop in ranges:
            w.write(start, amplitude_block, live_block, labels_block)
        w.finish(live, attrs, class_names)

It writes into a temporary folder beside ``out`` (:mod:`facies.io.store_target`), in
the section layout (:mod:`facies.io.store_layout`: both copies of each cube, the chunk
files written directly by :class:`facies.io.store_layout.ChunkWriter`); the write of
one block overlaps the caller's read of the next. :meth:`~SurveyStoreWriter.finish`
adds the live mask, the attributes, the QC summary, the record and the manifest, and
puts the store at ``out`` in one rename. Leaving the ``with`` block on an error removes
the temporary folder (a full disk becomes one :class:`facies.errors.DiskFullError`).
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from facies.errors import OptionError
from facies.io import outputs
from facies.io.labels import LABEL_DTYPE
from facies.io.store_check import MANIFEST, chunk_census
from facies.io.store_layout import (
    ChunkWriter,
    create_crossline_group,
    create_cube,
    crossline_chunk_inlines,
    section_chunks,
    section_encoding,
    section_shards,
)
from facies.io.store_record import STORE_FORMAT, STORE_RECORD, encode_attrs
from facies.io.store_target import OWNER_FILE, claim
from facies.names import AMPLITUDE, CROSSLINE, INLINE, LABELS, LIVE, SAMPLE


def _blank(var: xr.Variable) -> np.ndarray:
    """An array of ``var``'s shape holding only its zarr fill value (NaN, 0 or False)."""
    fill = np.nan if var.dtype.kind == "f" else 0
    return np.broadcast_to(np.array(fill).astype(var.dtype), var.shape)


class ClassCounts:
    """Running count of samples per class id, leaving out the ignore value."""

    def __init__(self, ignore_label: int | None) -> None:
        self.ignore_label = ignore_label
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, labels: np.ndarray) -> None:
        if self.ignore_label is not None:
            labels = labels[labels != self.ignore_label]
        if labels.size and labels.min() < 0:
            raise OptionError(
                f"labels hold negative class ids ({labels.min()}); set {{key}} to the "
                "value that marks unlabelled samples.",
                option="ignore_label",
            )
        new = np.bincount(labels.ravel())
        size = max(len(self.counts), len(new))
        self.counts = np.pad(self.counts, (0, size - len(self.counts)))
        self.counts[: len(new)] += new


def class_flags(names: list[str] | None, count: int) -> dict[str, Any]:
    """CF ``flag_values``/``flag_meanings`` of the class ids (names with spaces as ``_``)."""
    count = max(count, len(names or []))
    words = [
        (names[k] if names and k < len(names) else f"class_{k}").strip().replace(" ", "_")
        for k in range(count)
    ]
    return {"flag_values": list(range(count)), "flag_meanings": " ".join(words)}


class SurveyStoreWriter:
    """A survey store being written from blocks of inlines (see the module docstring).

    Args:
        out: the store to make (checked by the output rule already).
        meta: the survey without its cubes: 1-D coordinates ``inline``, ``crossline``,
            ``sample`` (and any other on ``sample``), 2-D ones such as ``cdp_x``, and
            the attributes of the source.
        has_labels: a ``labels`` cube is written too.
        ignore_label: the label of samples that are not live (0 where None).
        record: the store record (:func:`facies.io.store_record.store_record`).
    """

    def __init__(
        self,
        out: Path,
        meta: xr.Dataset,
        *,
        has_labels: bool = False,
        ignore_label: int | None = None,
        record: dict[str, Any] | None = None,
    ) -> None:
        self.out = Path(out)
        self.meta = meta
        self.shape = tuple(meta.sizes[d] for d in (INLINE, CROSSLINE, SAMPLE))
        self.has_labels = has_labels
        self.ignore_label = ignore_label
        self.fill = 0 if ignore_label is None else ignore_label
        self.record = record
        self.tmp = self.out.with_name(f".{self.out.name}.{uuid.uuid4().hex[:8]}.tmp")
        self.counts = ClassCounts(ignore_label)
        self.group: zarr.Group | None = None
        self.cubes: dict[str, list[zarr.Array]] = {}
        self._writers: dict[str, list[ChunkWriter]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def __enter__(self) -> SurveyStoreWriter:
        try:
            self._create()
        except BaseException as err:
            self.__exit__(type(err), err, err.__traceback__)
            raise
        return self

    def _create(self) -> None:
        nil, nxl, ns = self.shape
        encoding = section_encoding(self.meta, nxl, ns)
        # xarray writes the metadata, the 1-D coordinates and blank 2-D arrays (no chunk
        # files: zarr's per-chunk writes cost ~1 ms each); ChunkWriter writes their values
        planes = {k: v for k, v in self.meta.variables.items() if v.ndim == 2}
        blank = self.meta.assign({k: v.copy(data=_blank(v)) for k, v in planes.items()})
        blank.to_zarr(self.tmp, mode="w", consolidated=False, encoding=encoding)
        claim(self.tmp)
        self.group = zarr.open_group(self.tmp, mode="a")
        for name, var in planes.items():
            if name != LIVE:  # written by finish()
                ChunkWriter(self.group[name], write_empty=True).write(0, np.asarray(var.values))
        across = create_crossline_group(self.tmp, self.meta)
        inlines = crossline_chunk_inlines(nil, nxl, ns)
        cubes = [(AMPLITUDE, np.float32, 0.0)]
        if self.has_labels:
            cubes.append((LABELS, LABEL_DTYPE, self.fill))
        chunks, shards = section_chunks(nxl, ns), section_shards(nxl, ns)
        for name, dtype, value in cubes:
            self.cubes[name] = [
                create_cube(self.group, name, self.shape, chunks, dtype, value, shards=shards),
                create_cube(across, name, self.shape, (inlines, 1, ns), dtype, value),
            ]
        self._writers = {n: [ChunkWriter(a) for a in arrays] for n, arrays in self.cubes.items()}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facies-store")

    def write(
        self,
        start: int,
        amplitude: np.ndarray,
        live: np.ndarray,
        labels: np.ndarray | None = None,
    ) -> None:
        """Write inline rows ``start : start + len(amplitude)`` of both copies of the cubes.

        ``labels`` (class ids) are set to the ignore value where ``live`` is False and
        counted where it is True. The write runs while the caller reads the next block:
        the arrays given must stay unchanged until the next call of :meth:`write` or
        :meth:`finish` returns (alternate two buffers).
        """
        if self.has_labels != (labels is not None):
            raise ValueError("labels are written for every block of a store with labels")
        if labels is not None:
            labels[~live] = self.fill
            self.counts.add(labels[live])
        self._wait()
        empty = ~live.any(axis=1)  # inlines without a live trace hold only fill values
        self._pending = self._pool.submit(self._write_blocks, start, amplitude, labels, empty)

    def _write_blocks(self, start: int, amplitude, labels, empty: np.ndarray) -> None:
        for name, block in ((AMPLITUDE, amplitude), (LABELS, labels)):
            for writer in self._writers.get(name, []):
                writer.write(start, block, empty)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _close_files(self) -> None:
        for writers in self._writers.values():
            for writer in writers:
                writer.close()

    def finish(
        self,
        live: np.ndarray,
        attrs: dict[str, Any],
        class_names: list[str] | None = None,
        labels_source: str | None = None,
    ) -> Path:
        """Seal the store: the live mask, ``attrs`` (the QC counts, the source's
        attributes), the labels' attributes and class counts, the QC summary, the record
        and the manifest; then put it at ``out``, replacing a facies store there."""
        self._wait()
        self._close_files()
        group = self.group
        # every chunk of the live mask is written, all-False ones too (check_complete)
        ChunkWriter(group[LIVE], write_empty=True).write(0, live)
        group.attrs.update(attrs)
        if self.has_labels:
            counts = self.counts.counts.tolist()
            group.attrs.update(
                {"class_counts": counts, "ignore_label": self.ignore_label,
                 "labels_source": labels_source}
            )  # fmt: skip
            flags = class_flags(class_names, len(counts))
            for array in self.cubes[LABELS]:
                array.attrs.update(flags)
        if class_names is not None:
            group.attrs["class_names"] = class_names
        group.attrs["qc"] = self._qc()
        self._seal()
        outputs.replace_with(self.tmp, self.out)
        return self.out

    def _qc(self) -> dict[str, Any]:
        from facies.io.survey_qc import survey_qc

        with (
            quiet_zarr(),
            xr.open_dataset(self.tmp, engine="zarr", consolidated=False, chunks=None) as survey,
        ):
            return survey_qc(survey)

    def _seal(self) -> None:
        """The record and the manifest; attributes netCDF takes; metadata consolidated
        into the root ``zarr.json`` (opening reads one file); the owner file removed."""
        group = zarr.open_group(self.tmp, mode="a")
        if self.record is not None:
            group.attrs[STORE_RECORD] = self.record
        group.attrs[MANIFEST] = {"format": STORE_FORMAT, "arrays": chunk_census(self.tmp)}
        with quiet_zarr():
            for node in [group, *(array for _, array in group.arrays())]:
                plain = dict(node.attrs)
                encoded = encode_attrs(plain)
                if encoded != plain:
                    node.attrs.clear()
                    node.attrs.update(encoded)
            zarr.consolidate_metadata(self.tmp)
        (self.tmp / OWNER_FILE).unlink(missing_ok=True)

    def __exit__(self, kind, err, traceback) -> None:
        if self._pool is not None:
            if err is not None and self._pending is not None:
                with contextlib.suppress(BaseException):  # the first error is the one told
                    self._pending.result()
            self._pool.shutdown(wait=True)
            self._pool = None
        self._close_files()
        if err is None:
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        if isinstance(err, OSError) and err.errno in outputs.DISK_FULL:
            raise outputs.output_error(err, self.out) from None


@contextlib.contextmanager
def quiet_zarr():
    """Without zarr's warnings about the owner file of a store being written (no zarr
    node) and consolidated metadata (not in the zarr 3 specification yet)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*is not recognized as a component", UserWarning)
        warnings.filterwarnings("ignore", "Consolidated metadata is currently", UserWarning)
        yield
