"""Figures of the feature hierarchy: activation grids, gradient maps and the summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facies.plots import figure, seismic_clip


def activation_figure(
    trained: np.ndarray, control: np.ndarray, stage: str, section: str, path: Path
) -> Path:
    """The strongest channels of one stage on the section: trained (top row) and the
    untrained control (bottom row), each map scaled to its own range."""
    k = max(len(trained), len(control), 1)
    h, w = trained.shape[-2:] if len(trained) else control.shape[-2:]
    size = 1.9
    fig = figure((size * k * max(w / h, 0.5), 2 * size + 0.6))
    axes = fig.subplots(2, k, squeeze=False)
    for row, (label, maps) in enumerate((("trained", trained), ("untrained", control))):
        for col in range(k):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(maps):
                ax.axis("off")
                continue
            clip = seismic_clip(maps[col], percentile=99.5)
            lo = -clip if maps[col].min() < 0 else 0.0
            ax.imshow(
                maps[col], cmap="magma" if lo == 0 else "RdBu_r", vmin=lo, vmax=clip, aspect="auto"
            )
            if col == 0:
                ax.set_ylabel(label)
    fig.suptitle(f"{stage}: strongest channels by energy, {section}")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    return path


def field_figure(inspection, path: Path) -> Path:
    """Effective receptive fields (input-gradient magnitude) per stage, with the
    theoretical field drawn as a box; trained above, untrained below."""
    from matplotlib.patches import Rectangle

    stages = [s for s in inspection.trained.stages if s.name in inspection.trained.fields]
    fig = figure((2.2 * len(stages), 4.8))
    axes = fig.subplots(2, len(stages), squeeze=False)
    for row, result in enumerate((inspection.trained, inspection.control)):
        for col, stage in enumerate(stages):
            ax = axes[row, col]
            measured = result.fields[stage.name]
            ax.imshow(np.sqrt(measured.gradient), cmap="viridis", aspect="auto")
            ts, tt = stage.theoretical_field
            cs, ct = measured.centre
            ax.add_patch(
                Rectangle(
                    (ct - tt / 2, cs - ts / 2), tt, ts, fill=False, ec="white", ls="--", lw=0.8
                )
            )
            es, et = result.stage(stage.name).effective_field
            ax.set_title(f"{stage.name}\n{es:.0f}x{et:.0f} of {ts:.0f}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel("trained" if row == 0 else "untrained")
    fig.suptitle("effective receptive field (sqrt |d stage / d input|); box: theoretical")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    return path


def summary_figure(inspection, path: Path) -> Path:
    """Receptive field, spectral centroid and probe score against stage, trained vs control."""
    names = [s.name for s in inspection.trained.stages]
    x = np.arange(len(names))
    fig = figure((15, 4.2))
    axes = fig.subplots(1, 3)

    def both(ax, solid, dotted, solid_label: str, dotted_label: str) -> None:
        """Trained (C0) and untrained (C1): ``solid(stage)`` as o-, ``dotted(stage)`` as s:."""
        for result, colour, who in (
            (inspection.trained, "C0", "trained"),
            (inspection.control, "C1", "untrained"),
        ):
            for get, style, label in ((solid, "o-", solid_label), (dotted, "s:", dotted_label)):
                values = [get(stage) for stage in result.stages]
                ax.plot(x, values, style, color=colour, label=label.format(who=who))

    theoretical = [s.theoretical_field[0] for s in inspection.trained.stages]
    axes[0].plot(x, theoretical, "k--", label="theoretical")
    both(
        axes[0],
        lambda s: s.effective_field[0],
        lambda s: s.effective_field[1],
        "effective, {who} (samples)",
        "effective, {who} (traces)",
    )
    axes[0].set_yscale("log")
    axes[0].set_ylabel("receptive field (samples / traces)")
    interval = float(getattr(inspection.data, "sample_interval", 0.0) or 0.0)
    if interval > 0:  # the vertical field in time (or depth) too
        axes_info = inspection.data.axes
        unit = "m" if axes_info is not None and "depth" in axes_info.vertical_label else "ms"
        right = axes[0].secondary_yaxis(
            "right", functions=(lambda s: s * interval, lambda t: t / interval)
        )
        right.set_ylabel(f"vertical field ({unit}, {interval:g} {unit} per sample)")
    axes[0].set_title("receptive field")
    both(
        axes[1],
        lambda s: s.centroid.radial,
        lambda s: s.centroid.radial_native,
        "{who}, per input sample",
        "{who}, per map pixel",
    )
    axes[1].set_ylabel("spectral centroid (cycles)")
    axes[1].set_title("spatial frequency of the activations")
    both(
        axes[2],
        lambda s: s.probe.miou,
        lambda s: s.probe.accuracy,
        "{who}, mIoU",
        "{who}, accuracy",
    )
    axes[2].set_ylim(0, 1)
    axes[2].set_ylabel("held-out score")
    axes[2].set_title("linear probe")

    bottleneck = names.index("bottleneck") if "bottleneck" in names else None
    for ax in axes:
        ax.set_xticks(x, names, rotation=45, ha="right")
        if bottleneck is not None:
            ax.axvline(bottleneck, color="0.8", lw=6, zorder=0)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle("feature hierarchy: input -> encoder -> bottleneck -> decoder")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
