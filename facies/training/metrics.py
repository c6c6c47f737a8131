"""Facies benchmark metrics from one confusion matrix accumulated over a whole split.

The F3 facies benchmark (Alaudah et al., 2019) scores a split from a single confusion
matrix ``C`` (rows = true class, columns = predicted class). Averaging per-batch scores
instead would weight batches, not samples, and give a different (wrong) number, so
every metric here is derived from the accumulated matrix only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from facies.errors import FaciesError

__all__ = ["FaciesConfusion", "confusion_matrix", "scores", "scores_table"]


def confusion_matrix(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> torch.Tensor:
    """Count (true, predicted) class pairs in one vectorised ``torch.bincount``.

    Args:
        pred: Integer predicted class ids, any shape.
        target: Integer true class ids, same shape as ``pred``.
        num_classes: Number of classes ``C``; valid ids are ``0 .. C-1``.
        ignore_index: Target value marking unlabelled samples, which are left out.

    Returns:
        int64 tensor of shape ``(C, C)`` on the inputs' device; ``C[i, j]`` counts
        samples of true class ``i`` predicted as ``j``.

    Raises:
        FaciesError: Shapes differ, inputs are not integer, or an id is out of range.
    """
    if num_classes < 1:
        raise FaciesError(f"num_classes must be >= 1, got {num_classes}.")
    if pred.shape != target.shape:
        raise FaciesError(
            f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}; pass class "
            "ids of the same shape (take argmax over the class axis of logits first)."
        )
    if pred.is_floating_point() or target.is_floating_point():
        raise FaciesError(
            f"confusion_matrix needs integer class ids, got {pred.dtype} / {target.dtype}; "
            "use logits.argmax(dim=1) for predictions."
        )
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    # One device sync, worth it: an out-of-range id would silently land in another cell.
    if bool(((pred < 0) | (pred >= num_classes) | (target < 0) | (target >= num_classes)).any()):
        raise FaciesError(
            f"class ids must lie in [0, {num_classes - 1}]; found pred in "
            f"[{int(pred.min())}, {int(pred.max())}], target in [{int(target.min())}, "
            f"{int(target.max())}]. Check num_classes, or set ignore_index for unlabelled samples."
        )
    counts = torch.bincount(target * num_classes + pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


class FaciesConfusion(Metric):
    """Confusion matrix accumulated over batches (and summed over DDP ranks).

    We subclass :class:`torchmetrics.Metric` with our own ``confmat`` state rather than
    wrap ``MulticlassConfusionMatrix``: that class counts the same way, but the
    standalone :func:`confusion_matrix` is needed anyway (evaluation scripts, tests),
    and sharing it keeps one definition of the counting, with the same ``FaciesError``
    messages in both places. Sync across ranks stays torchmetrics' (``add_state``).

    Args:
        num_classes: Number of classes ``C``.
        ignore_index: Target value left out of the matrix (unlabelled samples).
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    confmat: torch.Tensor

    def __init__(self, num_classes: int, ignore_index: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if num_classes < 1:
            raise FaciesError(f"num_classes must be >= 1, got {num_classes}.")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        zeros = torch.zeros(num_classes, num_classes, dtype=torch.long)
        self.add_state("confmat", default=zeros, dist_reduce_fx="sum")

    def update(self, logits_or_pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch: logits ``(N, C, ...)`` (argmax over dim 1) or class ids."""
        pred = logits_or_pred
        if pred.ndim == target.ndim + 1:
            pred = pred.argmax(dim=1)
        self.confmat += confusion_matrix(pred, target, self.num_classes, self.ignore_index)

    def compute(self) -> torch.Tensor:
        """Return the accumulated ``(C, C)`` int64 matrix (rows true, columns predicted)."""
        return self.confmat.clone()


def scores(confmat: np.ndarray | torch.Tensor, class_names: list[str] | None = None) -> dict:
    """Benchmark scores of one confusion matrix, as plain (JSON-ready) Python values.

    With ``n_ij`` = samples of true class ``i`` predicted as ``j``, ``t_i = sum_j n_ij``
    (support), ``p_j = sum_i n_ij`` and ``N = sum_ij n_ij``:

    - ``pa`` (pixel accuracy) = ``sum_i n_ii / N``;
    - ``class_accuracy[i]`` = ``n_ii / t_i`` (NaN where ``t_i = 0``);
      ``mca`` = mean of class accuracies over classes present in the truth;
    - ``iou[i]`` = ``n_ii / (t_i + p_i - n_ii)`` (NaN where the class is in neither the
      truth nor the predictions; 0 where only predicted); ``miou`` = mean of non-NaN IoUs;
    - ``fwiu`` = ``sum_i (t_i / N) * iou[i]`` (frequency weighted by the truth).

    Also returns ``class_names`` and ``support`` (the ``t_i``). NaN stays a float NaN
    (``json.dumps`` writes it as ``NaN``).

    Raises:
        FaciesError: The matrix is not square, has negative counts, is all zero, or the
            number of class names does not match.
    """
    if isinstance(confmat, torch.Tensor):
        confmat = confmat.detach().cpu().numpy()
    cm = np.asarray(confmat, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise FaciesError(f"confusion matrix must be square (C, C), got shape {cm.shape}.")
    if (cm < 0).any():
        raise FaciesError("confusion matrix has negative counts; pass raw sample counts.")
    total = cm.sum()
    if total == 0:
        raise FaciesError(
            "confusion matrix is all zero: no labelled samples were scored. Check that the "
            "split has labels and that ignore_index does not mask every sample."
        )
    n = cm.shape[0]
    names = [f"class_{i}" for i in range(n)] if class_names is None else list(class_names)
    if len(names) != n:
        raise FaciesError(f"got {len(names)} class names for a {n}-class confusion matrix.")
    diag, rows, cols = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_acc = np.where(rows > 0, diag / rows, np.nan)
        union = rows + cols - diag
        iou = np.where(union > 0, diag / union, np.nan)
    return {
        "pa": float(diag.sum() / total),
        "mca": float(np.nanmean(class_acc)),
        "miou": float(np.nanmean(iou)),
        "fwiu": float(np.sum(rows / total * np.nan_to_num(iou))),
        "class_accuracy": [float(v) for v in class_acc],
        "iou": [float(v) for v in iou],
        "support": [int(v) for v in rows],
        "class_names": names,
    }


def scores_table(scores: dict) -> str:
    """Markdown tables of :func:`scores` output: summary metrics, then one row per class."""

    def fmt(value: float) -> str:
        return "n/a" if np.isnan(value) else f"{value:.4f}"

    lines = ["| metric | value |", "| --- | --- |"]
    lines += [f"| {key} | {fmt(scores[key])} |" for key in ("pa", "mca", "fwiu", "miou")]
    lines += ["", "| class | support | accuracy | IoU |", "| --- | --- | --- | --- |"]
    columns = ("class_names", "support", "class_accuracy", "iou")
    for name, sup, acc, iou in zip(*(scores[key] for key in columns), strict=True):
        lines.append(f"| {name} | {sup} | {fmt(acc)} | {fmt(iou)} |")
    return "\n".join(lines)


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinite floats (absent classes' IoU, say) as ``None``, tuples
    as lists: strict JSON, which ``json.dumps`` alone does not write."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
