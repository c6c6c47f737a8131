"""The inspection report: Markdown with the figures embedded, a JSON of every number, PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facies import plots
from facies.inspection.figures import activation_figure, field_figure, summary_figure
from facies.inspection.hierarchy import Inspection
from facies.training.metrics import json_ready


def _table(inspection: Inspection) -> list[str]:
    rows = [
        "| stage | scale | channels | theoretical field | effective field, trained "
        "(untrained) | centroid, cycles/sample, trained (untrained) | probe mIoU, trained "
        "(untrained) | probe accuracy, trained (untrained) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t, c in zip(inspection.trained.stages, inspection.control.stages, strict=True):
        ts, tt = t.theoretical_field
        rows.append(
            f"| {t.name} | {t.scale} | {t.channels} | {ts:.0f} x {tt:.0f} "
            f"| {t.effective_field[0]:.1f} x {t.effective_field[1]:.1f} "
            f"({c.effective_field[0]:.1f} x {c.effective_field[1]:.1f}) "
            f"| {t.centroid.radial:.3f} ({c.centroid.radial:.3f}) "
            f"| {t.probe.miou:.3f} ({c.probe.miou:.3f}) "
            f"| {t.probe.accuracy:.3f} ({c.probe.accuracy:.3f}) |"
        )
    return rows


def write_report(inspection: Inspection, out: str | Path) -> Path:
    """Write ``report.md``, ``inspection.json`` and the figures into ``out``; returns the
    report's path."""
    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    data = inspection.data
    (out / "inspection.json").write_text(json.dumps(json_ready(inspection.as_dict()), indent=2))

    section = data.section
    h, w = section.valid
    labels = section.masks[0, :h, :w].numpy()
    plots.section_figure(
        section.images[0, 0, :h, :w].cpu().numpy(),
        {"labels": np.where(labels == data.ignore_index, -1, labels)},
        data.class_names,
        section.names[0],
        figures / "section.png",
        data.axes,
    )
    summary_figure(inspection, out / "summary.png")
    field_figure(inspection, figures / "receptive_fields.png")
    for stage in inspection.trained.stages:
        activation_figure(
            inspection.trained.activations[stage.name],
            inspection.control.activations[stage.name],
            stage.name,
            section.names[0],
            figures / f"activations_{stage.name}.png",
        )

    trained = inspection.trained.stages
    deepest = max(trained, key=lambda s: s.scale)
    control = inspection.control.stage(deepest.name)
    lines = [
        "# Feature hierarchy",
        "",
        f"Checkpoint `{inspection.checkpoint}`; model `{inspection.model}`.",
        f"Activations on {section.names[0]}; probes fitted on "
        f"{', '.join(data.probe_train.names)} and scored on {', '.join(data.probe_test.names)}; "
        f"effective fields averaged over {', '.join(data.erf_sections.names)}.",
        "",
        "![summary](summary.png)",
        "",
        *_table(inspection),
        "",
        f"The deepest stage ({deepest.name}) separates the facies with a linear probe at mIoU "
        f"{deepest.probe.miou:.3f} against {control.probe.miou:.3f} for the untrained control, "
        f"and the input amplitude alone at {trained[0].probe.miou:.3f}.",
        "",
        "Fields are in samples x traces: the theoretical one from the layer stack, the "
        f"effective one the central width holding {inspection.mass:.0%} of the input-gradient "
        "magnitude of "
        "the stage's centre pixel. The centroid is the power-weighted mean spatial "
        "frequency of the stage's activations, per input sample.",
        "",
        "## The section",
        "",
        "![section](figures/section.png)",
        "",
        "## Receptive fields",
        "",
        "![receptive fields](figures/receptive_fields.png)",
        "",
        "## Activations, stage by stage",
        "",
    ]
    for stage in trained:
        lines += [
            f"### {stage.name}",
            "",
            f"![{stage.name}](figures/activations_{stage.name}.png)",
            "",
        ]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report
