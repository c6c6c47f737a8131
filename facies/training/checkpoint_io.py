"""Checkpoint writing that survives a kill: the file is whole or absent, never torn.

Lightning saves through fsspec, which writes a temporary file in ``TMPDIR`` and moves
it into place: an atomic rename only when ``TMPDIR`` is on the same filesystem as the
run folder. On SLURM nodes ``TMPDIR`` is often node-local, and a job killed at its time
limit mid-copy would leave ``last.ckpt`` empty, the resume point lost. Here the
temporary file sits beside the target, is synced, then renamed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from facies.io.atomic import atomic_target


class AtomicCheckpointIO(TorchCheckpointIO):
    """:class:`TorchCheckpointIO` that writes beside the target, syncs, then renames."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(path) as tmp, tmp.open("wb") as handle:
            torch.save(checkpoint, handle)
            handle.flush()
            os.fsync(handle.fileno())
