"""A survey held in memory (on the GPU when training there), cut into batches by indexing.

No per-sample Python work: a batch of B patches is one gather of B x H x W values
from the volume, with a validity mask for padding past section or split borders.
"""

from __future__ import annotations

import numpy as np
import torch

from facies.data.tiling import INLINE_SECTION, PatchTable

#: Labels are held in this type (2 bytes a sample) and widened per batch, where the loss
#: needs int64: a survey in memory costs 4 + 2 bytes a sample, not 4 + 8.
LABEL_DTYPE = np.int16
#: Patch tables whose columns a volume holds on its device (train, val, test and a few
#: passing ones); the oldest is let go first.
HELD_TABLES = 8


class Volume:
    """Normalised amplitude and labels of a survey as tensors (inline, crossline, sample).

    The arrays are taken as they are when they already have the right type (no copy):
    hand over arrays the volume may own.
    """

    def __init__(self, amplitude: np.ndarray, labels: np.ndarray, ignore_index: int) -> None:
        self.amplitude = torch.from_numpy(np.ascontiguousarray(amplitude, dtype=np.float32))
        self.labels = torch.from_numpy(np.ascontiguousarray(labels, dtype=LABEL_DTYPE))
        self.ignore_index = ignore_index
        #: Patch tables' columns as tensors on the volume's device, by table (see cut).
        self._columns: dict[int, tuple[PatchTable, dict[str, torch.Tensor]]] = {}

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.amplitude.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the volume holds (amplitude and labels)."""
        return self.amplitude.nbytes + self.labels.nbytes

    @property
    def device(self) -> torch.device:
        return self.amplitude.device

    def to(self, device: torch.device | str) -> Volume:
        self.amplitude = self.amplitude.to(device)
        self.labels = self.labels.to(device)
        self._columns.clear()
        return self

    def columns(self, table: PatchTable) -> dict[str, torch.Tensor]:
        """``table``'s columns as tensors on the volume's device, copied there once per
        table (on the CPU they share the table's memory)."""
        held = self._columns.get(id(table))
        if held is None or held[0] is not table:
            names = ("kind", "section", "lateral", "sample", "lateral_hi")
            cols = {n: torch.as_tensor(getattr(table, n), device=self.device) for n in names}
            if len(self._columns) >= HELD_TABLES:  # a few tables serve a run: keep those
                self._columns.pop(next(iter(self._columns)))
            held = self._columns[id(table)] = (table, cols)
        return held[1]

    def cut(
        self,
        table: PatchTable,
        rows: np.ndarray | torch.Tensor,
        size: tuple[int, int],
        flip: np.ndarray | torch.Tensor | None = None,
    ) -> dict:
        """Patches ``rows`` of ``table`` as a batch dict: image (B,1,H,W), mask (B,H,W).

        ``flip`` (bool per row) mirrors patches laterally within the same gather. ``rows``
        and ``flip`` may be tensors on the volume's device: then nothing crosses from the
        host (the table's columns are held there, :meth:`columns`).
        """
        device = self.amplitude.device
        h, w = size
        columns = self.columns(table)
        index = torch.as_tensor(rows, device=device)

        def col(name: str) -> torch.Tensor:
            return columns[name][index][:, None, None]

        kind, section = col("kind"), col("section")
        offsets = torch.arange(w, device=device).expand(len(rows), 1, w)
        if flip is not None:
            mirrored = torch.as_tensor(flip, device=device)[:, None, None]
            offsets = torch.where(mirrored, w - 1 - offsets, offsets)
        lateral = col("lateral") + offsets
        samples = col("sample") + torch.arange(h, device=device)[None, :, None]
        valid = (lateral < col("lateral_hi")) & (samples < self.amplitude.shape[2])
        lateral = torch.minimum(lateral, col("lateral_hi") - 1)
        samples = samples.clamp(max=self.amplitude.shape[2] - 1)
        is_inline = kind == INLINE_SECTION
        il = torch.where(is_inline, section, lateral)
        xl = torch.where(is_inline, lateral, section)
        image = self.amplitude[il, xl, samples] * valid
        mask = torch.where(valid, self.labels[il, xl, samples].long(), self.ignore_index)
        return {
            "image": image[:, None],
            "mask": mask,
            "kind": kind[:, 0, 0],
            "section": section[:, 0, 0],
            "lateral": col("lateral")[:, 0, 0],
            "sample": col("sample")[:, 0, 0],
        }
