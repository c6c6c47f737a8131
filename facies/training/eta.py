"""How long a training run will take, said early: a log line after the first few steps.

Lightning's progress bar shows the time left in the current epoch; :class:`TrainingETA`
estimates the whole run (every epoch's training steps, and validation once it has run)
after the first ``after`` steps (the very first step, with its one-off costs, is not
timed), and again at the end of the first epoch, when one validation has been timed::

    ETA: about 6 min 10 s for the whole run (12 epochs x 128 steps, 0.24 s a step
    after 5 steps; validation not timed yet)
"""

from __future__ import annotations

import logging
import time

from lightning.pytorch.callbacks import Callback

log = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """``seconds`` in words: ``42 s``, ``6 min 10 s``, ``2 h 05 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


class TrainingETA(Callback):
    """Log an estimate of the whole training run's time after ``after`` timed steps
    (see the module doc). Rank 0 only; silent when the run has no epoch limit."""

    def __init__(self, after: int = 5) -> None:
        self.after = max(1, int(after))
        self._first: float | None = None
        self._timed = 0
        self._val_start: float | None = None
        self._val_seconds = 0.0
        self._epoch_start: float | None = None
        self.estimates: list[float] = []

    @staticmethod
    def _plan(trainer) -> tuple[int, int, int] | None:
        """(epochs, steps an epoch, total steps) of the run, or None when unknown."""
        epochs = trainer.max_epochs
        per_epoch = trainer.num_training_batches
        if epochs is None or epochs < 1 or not per_epoch or per_epoch == float("inf"):
            return None
        per_epoch = int(per_epoch)
        total = epochs * per_epoch
        if trainer.max_steps and trainer.max_steps > 0:
            total = min(total, trainer.max_steps)
        return epochs, per_epoch, total

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.current_epoch != 0 or self._timed >= self.after:
            return
        now = time.perf_counter()
        if self._first is None:  # the end of the first step: timing starts here
            self._first = now
            return
        self._timed += 1
        plan = self._plan(trainer)
        if self._timed < self.after or plan is None or not trainer.is_global_zero:
            return
        per_step = (now - self._first) / self.after
        epochs, per_epoch, total = plan
        left = per_step * (total - batch_idx - 1)
        self.estimates.append(left)
        log.info(
            "ETA: about %s for the whole run (%d epochs x %d steps, %.2f s a step after "
            "%d steps; validation not timed yet)",
            duration(left), epochs, per_epoch, per_step, self.after,
        )  # fmt: skip

    def on_validation_start(self, trainer, pl_module) -> None:
        self._val_start = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._val_start is not None and not trainer.sanity_checking:
            self._val_seconds = time.perf_counter() - self._val_start

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch != 0 or self._epoch_start is None:
            return
        plan = self._plan(trainer)
        if plan is None or not trainer.is_global_zero:
            return
        epochs, _, _ = plan
        epoch = time.perf_counter() - self._epoch_start
        left = epoch * (epochs - 1)
        self.estimates.append(left)
        log.info(
            "ETA: about %s for the %d epochs left (the first took %s, validation %s)",
            duration(left), epochs - 1, duration(epoch), duration(self._val_seconds),
        )  # fmt: skip
