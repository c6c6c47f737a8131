"""The QC summary of a survey store: what to check before training on it."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from facies.names import CROSSLINE, INLINE, LABELS, LIVE, SAMPLE


def survey_qc(survey: xr.Dataset) -> dict[str, Any]:
    """Geometry, live fraction, amplitude percentiles, sample axis and class counts."""
    inl, xl, smp = (survey[name].values for name in (INLINE, CROSSLINE, SAMPLE))
    qc: dict[str, Any] = {
        "shape": {name: int(survey.sizes[name]) for name in (INLINE, CROSSLINE, SAMPLE)},
        "inline": [int(inl[0]), int(inl[-1])],
        "crossline": [int(xl[0]), int(xl[-1])],
        "sample": [float(smp[0]), float(smp[-1]), float(survey.attrs.get("sample_interval", 0))],
        "sample_units": survey[SAMPLE].attrs.get("units", ""),
        "live_fraction": float(np.asarray(survey[LIVE].values).mean()),
        "amplitude_percentiles": survey.attrs.get("amplitude_percentiles", {}),
    }
    if LABELS in survey:
        counts = survey.attrs.get("class_counts", [])
        names = survey.attrs.get("class_names") or [str(k) for k in range(len(counts))]
        qc["class_counts"] = {
            (names[k] if k < len(names) else str(k)): int(c) for k, c in enumerate(counts)
        }
        qc["ignore_label"] = survey.attrs.get("ignore_label")
    return qc


def format_qc(qc: dict[str, Any]) -> str:
    """The QC summary as a short text table."""
    shape = qc["shape"]
    first, last, step = qc["sample"]
    units = qc["sample_units"]
    lines = [
        f"grid        {shape[INLINE]} inlines {qc['inline'][0]}..{qc['inline'][1]} x "
        f"{shape[CROSSLINE]} crosslines {qc['crossline'][0]}..{qc['crossline'][1]}",
        f"samples     {shape[SAMPLE]}: {first:g}..{last:g} {units}, every {step:g} {units}",
        f"live        {qc['live_fraction']:.1%} of the grid holds a trace",
    ]
    pct = qc["amplitude_percentiles"]
    if pct:
        lines.append("amplitude   " + "  ".join(f"p{p}={v:.4g}" for p, v in pct.items()))
    if "class_counts" in qc:
        total = sum(qc["class_counts"].values()) or 1
        parts = [f"{name}: {n} ({n / total:.1%})" for name, n in qc["class_counts"].items()]
        lines.append("classes     " + ", ".join(parts))
        if qc.get("ignore_label") is not None:
            lines.append(f"unlabelled  value {qc['ignore_label']} (ignored in training)")
    return "\n".join(lines)
