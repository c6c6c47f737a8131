"""Figures people look at: sections, confusion matrices, training curves.

matplotlib is imported inside each function, so importing facies does not pull it in.
Every figure takes class colours from :func:`class_colormap` (class k has one colour
everywhere) and the amplitude clip from :func:`seismic_clip`.
Figures are plain ``matplotlib.figure.Figure`` objects, never registered with pyplot:
drawing and saving them touches no global state, so a notebook's or an application's
backend is left as it was.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def figure(figsize: tuple[float, float], layout: str | None = None):
    """A new Figure outside pyplot (see the module docstring); ``fig.subplots(...)`` for axes."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout=layout)


#: Colours of classes 0, 1, 2, ... in every figure: the Okabe-Ito palette (distinct for
#: the common forms of colour blindness), then Paul Tol's muted indigo, wine, olive,
#: teal, rose and grey, and Okabe-Ito's black last (it reads as "no data"). Class k keeps
#: its colour whatever the number of classes; beyond these, matplotlib's tab20 takes over.
CLASS_COLORS = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#332288",  # indigo
    "#882255",  # wine
    "#999933",  # olive
    "#44AA99",  # teal
    "#CC6677",  # rose
    "#BBBBBB",  # grey
    "#000000",  # black
)
#: Colormap of seismic amplitude panels, shown from ``-clip`` to ``clip`` (:func:`seismic_clip`).
SEISMIC_CMAP = "gray"
#: Percentile of absolute amplitudes that sets the display clip.
CLIP_PERCENTILE = 99.0


def class_colors(n: int) -> list[str]:
    """Colours of classes ``0..n-1`` (hex strings): class k has the same colour for any n."""
    if n <= len(CLASS_COLORS):
        return list(CLASS_COLORS[:n])
    import matplotlib
    from matplotlib.colors import to_hex

    extra = matplotlib.colormaps["tab20"].colors
    more = [to_hex(extra[k % len(extra)]) for k in range(n - len(CLASS_COLORS))]
    return [*CLASS_COLORS, *more]


def class_colormap(n: int):
    """A ``ListedColormap`` of :func:`class_colors`; show labels with ``vmin=-0.5,
    vmax=n - 0.5`` (or :func:`class_norm`) so class k gets colour k. Masked cells are
    transparent."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(class_colors(n), name=f"facies_classes_{n}")


def class_handles(class_names: list[str]) -> list:
    """Legend entries naming each class in its colour (``fig.legend(handles=...)``)."""
    from matplotlib.patches import Patch

    colours = class_colors(len(class_names))
    return [Patch(color=c, label=name) for c, name in zip(colours, class_names, strict=True)]


def class_norm(n: int):
    """The norm that maps class k of ``n`` to colour k of :func:`class_colormap`."""
    from matplotlib.colors import BoundaryNorm

    return BoundaryNorm(np.arange(n + 1) - 0.5, n)


def seismic_clip(values: np.ndarray, percentile: float = CLIP_PERCENTILE) -> float:
    """Display clip of amplitudes: ``percentile`` of their absolute values, NaN and
    infinities ignored; 1.0 where that is 0 or nothing is finite, so ``vmin=-clip,
    vmax=clip`` always makes a valid range."""
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    finite = magnitude[np.isfinite(magnitude)]
    if finite.size == 0:
        return 1.0
    return float(np.percentile(finite, percentile)) or 1.0


def confusion_figure(confmat: np.ndarray, class_names: list[str], path: Path) -> Path:
    """Row-normalised confusion matrix (rows: truth), with the counts' shares printed."""
    matrix = np.asarray(confmat, dtype=np.float64)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    n = len(class_names)
    fig = figure((1.1 * n + 2.5, 1.0 * n + 2))
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            color = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, f"{shares[i, j]:.2f}", ha="center", va="center", color=color)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


@dataclass(frozen=True)
class SectionAxes:
    """What a section's axes are: line numbers across, time or depth (with units) down.

    Attributes:
        lateral_label: e.g. ``"crossline"`` (an inline section shows crossline numbers).
        lateral: the number of each trace of the section.
        vertical_label: e.g. ``"TWT (ms)"`` or ``"depth (m)"``.
        vertical: the time or depth of each sample.
    """

    lateral_label: str
    lateral: np.ndarray
    vertical_label: str
    vertical: np.ndarray

    @classmethod
    def of(cls, survey, direction: str = "inline") -> SectionAxes:
        """The axes of an inline (or crossline) section of an xarray survey."""
        from facies.names import CROSSLINE, DEPTH, INLINE, SAMPLE, TWT

        across = CROSSLINE if direction == INLINE else INLINE
        for name, label in ((TWT, "TWT (ms)"), (DEPTH, "depth (m)")):
            if name in survey.coords:
                return cls(across, np.asarray(survey[across].values), label,
                           np.asarray(survey[name].values))  # fmt: skip
        ns = survey.sizes[SAMPLE]
        return cls(across, np.asarray(survey[across].values), "sample", np.arange(ns))

    def extent(self, width: int, height: int) -> list[float]:
        """``imshow`` extent of a (height x width) image on these axes (cell centres on
        the numbers); falls back to indices where the image and the axes differ in size."""
        lateral = self.lateral if len(self.lateral) == width else np.arange(width)
        vertical = self.vertical if len(self.vertical) == height else np.arange(height)

        def edges(values: np.ndarray) -> tuple[float, float]:
            step = float(values[1] - values[0]) if len(values) > 1 else 1.0
            return float(values[0]) - step / 2, float(values[-1]) + step / 2

        left, right = edges(lateral)
        top, bottom = edges(vertical)
        return [left, right, bottom, top]


def _label(ax, axes: SectionAxes | None, first: bool) -> None:
    ax.set_xlabel(axes.lateral_label if axes else "trace")
    if first:
        ax.set_ylabel(axes.vertical_label if axes else "sample")


def section_figure(
    seismic: np.ndarray,
    panels: dict[str, np.ndarray],
    class_names: list[str],
    title: str,
    path: Path,
    axes_info: SectionAxes | None = None,
) -> Path:
    """A section (samples x traces) beside label panels (truth, prediction, ...), on line
    numbers and time/depth (``axes_info``), one colour per class as in every figure."""
    n = len(class_names)
    cmap = class_colormap(n)
    fig = figure((4.2 * (1 + len(panels)), 4.6))
    axes = fig.subplots(1, 1 + len(panels))
    clip = seismic_clip(seismic)
    extent = axes_info.extent(seismic.shape[1], seismic.shape[0]) if axes_info else None
    axes[0].imshow(seismic, cmap=SEISMIC_CMAP, vmin=-clip, vmax=clip, aspect="auto",
                   extent=extent)  # fmt: skip
    axes[0].set_title("seismic")
    for ax, (name, labels) in zip(axes[1:], panels.items(), strict=True):
        shown = np.ma.masked_less(labels, 0)
        image = ax.imshow(shown, cmap=cmap, vmin=-0.5, vmax=n - 0.5, aspect="auto",
                          extent=extent)  # fmt: skip
        ax.set_title(name)
    for k, ax in enumerate(axes):
        _label(ax, axes_info, k == 0)
    bar = fig.colorbar(image, ax=list(axes), ticks=range(n), fraction=0.025)
    bar.ax.set_yticklabels(class_names)
    fig.suptitle(title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def curves_figure(metrics_csv: Path, path: Path) -> Path | None:
    """Training loss and validation scores per epoch from Lightning's CSV log."""
    if not metrics_csv.exists():
        return None
    rows = list(csv.DictReader(metrics_csv.open()))

    def series(key: str) -> tuple[list[float], list[float]]:
        """Per-epoch mean of a logged value (steps of one epoch are averaged)."""
        per_epoch: dict[float, list[float]] = {}
        for row in rows:
            value = row.get(key, "")
            if value not in ("", None) and not math.isnan(float(value)):
                per_epoch.setdefault(float(row.get("epoch") or 0), []).append(float(value))
        xs = sorted(per_epoch)
        return xs, [sum(per_epoch[x]) / len(per_epoch[x]) for x in xs]

    fig = figure((10, 3.8))
    left, right = fig.subplots(1, 2)
    for key in ("train/loss", "val/loss"):
        xs, ys = series(key)
        if xs:
            left.plot(xs, ys, ".-", label=key)
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy")
    left.legend()
    for key in ("val/miou", "val/pa", "val/mca", "val/fwiu"):
        xs, ys = series(key)
        if xs:
            right.plot(xs, ys, ".-", label=key)
    right.set_xlabel("epoch")
    right.set_ylim(0, 1)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def prediction_figure(
    rows: list[tuple],
    class_names: list[str],
    path: Path,
) -> Path:
    """One row per section: seismic | predicted facies | confidence (max probability).
    A row is ``(title, seismic, facies, confidence)`` or the same with a
    :class:`SectionAxes` last (line numbers and time/depth on the axes)."""
    n = len(class_names)
    cmap = class_colormap(n)
    fig = figure((13, 4.2 * len(rows)))
    axes = fig.subplots(len(rows), 3, squeeze=False)
    for row, (a, b, c) in zip(rows, axes, strict=True):
        title, seismic, facies, confidence = row[:4]
        info = row[4] if len(row) > 4 else None
        extent = info.extent(seismic.shape[1], seismic.shape[0]) if info else None
        clip = seismic_clip(seismic)
        a.imshow(seismic, cmap=SEISMIC_CMAP, vmin=-clip, vmax=clip, aspect="auto", extent=extent)
        a.set_title(f"{title}: seismic")
        classes = b.imshow(np.ma.masked_less(facies, 0), cmap=cmap, vmin=-0.5, vmax=n - 0.5,
                           aspect="auto", extent=extent)  # fmt: skip
        b.set_title("facies")
        shown = c.imshow(confidence, cmap="viridis", vmin=0, vmax=1, aspect="auto",
                         extent=extent)  # fmt: skip
        c.set_title("confidence")
        for k, ax in enumerate((a, b, c)):
            _label(ax, info, k == 0)
        bar = fig.colorbar(classes, ax=b, ticks=range(n), fraction=0.046)
        bar.ax.set_yticklabels(class_names)
        fig.colorbar(shown, ax=c, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
