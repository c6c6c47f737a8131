"""What the LSTM baseline's gates do along a trace, recorded with the explicit-gate cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facies.models.lstm import TraceLSTM
from facies.models.lstm_cell import ExplicitLSTM
from facies.plots import class_colormap, class_handles, figure

TITLES = {"f": "forget f_t", "i": "input i_t", "o": "output o_t", "c": "cell c_t"}


@torch.no_grad()
def record_gates(net: TraceLSTM, trace: torch.Tensor) -> dict[str, np.ndarray]:
    """Gate activations of the first layer (downward direction) along one trace.

    The trained ``torch.nn.LSTM`` weights are copied into :class:`ExplicitLSTM`, which
    computes the same outputs gate by gate; returns f, i, o, c (samples x hidden) and
    the predicted class per sample.
    """
    explicit = ExplicitLSTM.from_torch(net.lstm).to(trace.device)
    _, _, recorded = explicit(trace.T[None], record=True)  # (1, samples, channels)
    predicted = net(trace[None]).argmax(1)[0]
    gates = {k: recorded[k][0].cpu().numpy() for k in ("f", "i", "o", "c")}
    return {**gates, "predicted": predicted.cpu().numpy()}


def gates_figure(
    trace: np.ndarray,
    gates: dict[str, np.ndarray],
    class_names: list[str],
    path: Path,
    truth: np.ndarray | None = None,
    vertical: tuple[str, np.ndarray] | None = None,
) -> Path:
    """A trace, then f_t, i_t, o_t and c_t (units as columns), then true and predicted
    facies in the class palette, with a legend naming the classes.

    ``vertical``: the label and values of the trace's axis (e.g. ``("TWT (ms)", times)``);
    None for sample numbers."""
    label, depth = vertical if vertical is not None else ("sample", np.arange(len(trace)))
    if len(depth) != len(trace):  # a padded trace: the axis of its first samples, extended
        step = float(depth[1] - depth[0]) if len(depth) > 1 else 1.0
        depth = float(depth[0]) + step * np.arange(len(trace))
    step = float(depth[1] - depth[0]) if len(depth) > 1 else 1.0
    top, bottom = float(depth[0]) - step / 2, float(depth[-1]) + step / 2
    panels = ["f", "i", "o", "c"]
    fig = figure((14, 6))
    axes = fig.subplots(1, 3 + len(panels), sharey=True)
    axes[0].plot(trace, depth, "k", lw=0.8)
    axes[0].set_title("trace")
    axes[0].set_ylabel(label)
    axes[0].set_ylim(bottom, top)
    for ax, name in zip(axes[1:], panels, strict=False):
        values = gates[name]
        limits = (0, 1) if name != "c" else (-np.abs(values).max(), np.abs(values).max())
        cmap = "viridis" if name != "c" else "RdBu_r"
        ax.imshow(values, aspect="auto", cmap=cmap, vmin=limits[0], vmax=limits[1],
                  interpolation="nearest",
                  extent=(-0.5, values.shape[1] - 0.5, bottom, top))  # fmt: skip
        ax.set_title(TITLES[name])
        ax.set_xlabel("unit")
    n = len(class_names)
    cmap = class_colormap(n)
    for ax, (title, labels) in zip(axes[-2:], (("truth", truth), ("predicted", gates["predicted"])),
                                   strict=True):  # fmt: skip
        if labels is not None:
            shown = np.ma.masked_less(np.asarray(labels)[:, None], 0)  # unlabelled: blank
            ax.imshow(shown, aspect="auto", cmap=cmap, vmin=-0.5, vmax=n - 0.5,
                      interpolation="nearest", extent=(-0.5, 0.5, bottom, top))  # fmt: skip
        ax.set_title(title)
        ax.set_xticks([])
    fig.legend(handles=class_handles(class_names), loc="lower center", ncol=min(n, 8),
               title="facies", frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=100)
    return path
