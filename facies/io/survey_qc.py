"""The QC summary of a survey store: what to check before training on it.

:class:`TraceQc` counts, block by block as ingest decodes the survey, what is live and
what is wrong (all-zero traces, non-finite samples) and samples finite live amplitudes
for the percentiles; :func:`survey_qc` reads the counts back from a store's attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from facies.io.segy.fields import TRACE_IDENTIFICATION_CODE
from facies.io.segy.options import SEGY_NODE
from facies.io.segy.scan import DEAD_TRACE_CODES, ZERO_TRACES_DEAD
from facies.names import CROSSLINE, INLINE, LABELS, LIVE, SAMPLE

#: Live traces sampled (at most) for the amplitude percentiles.
STAT_TRACES = 4096
PERCENTILES = (0.1, 1, 5, 25, 50, 75, 95, 99, 99.9)
#: The training option that masks non-finite samples (named by the QC's warning).
MASK_NONFINITE = "data.mask_nonfinite=true"


class TraceQc:
    """Counts of a survey's traces and samples, added a block of inlines at a time.

    Args:
        header_live: number of traces live by their headers (for the sampling stride).
    """

    def __init__(self, header_live: int) -> None:
        self.every = max(1, header_live // STAT_TRACES)
        self.live = 0
        self.all_zero = 0
        self.nonfinite_samples = 0
        self.nonfinite_traces = 0
        self._seen = 0
        self._sampled: list[np.ndarray] = []

    def add(self, block: np.ndarray, live: np.ndarray, zero: np.ndarray) -> None:
        """Count a block (inlines, crosslines, samples) whose live mask and all-zero traces
        are ``live`` and ``zero`` (:func:`facies.io.segy.reader.settle_live`)."""
        traces = block.reshape(-1, block.shape[-1])
        live = live.ravel()
        index = np.flatnonzero(live)
        self.live += len(index)
        self.all_zero += int(np.count_nonzero(zero))
        # a trace's sum is finite unless it holds NaN or inf, or the float32 sum overflowed
        # (pairwise summation: rare): the few suspects are checked sample by sample
        sums = traces.sum(axis=-1, dtype=np.float32)
        suspects = np.flatnonzero(live & ~np.isfinite(sums))
        if len(suspects):
            found = np.count_nonzero(~np.isfinite(traces[suspects]), axis=-1)
            self.nonfinite_traces += int(np.count_nonzero(found))
            self.nonfinite_samples += int(found.sum())
        first = (-self._seen) % self.every  # one live trace in `every`, across blocks
        self._sampled.append(traces[index[first :: self.every]].copy())
        self._seen += len(index)

    def stats(self, cells: int) -> dict[str, Any]:
        """The counts and percentiles as plain values (store attributes)."""
        values = np.concatenate(self._sampled).ravel() if self._sampled else np.zeros(0)
        values = values[np.isfinite(values)]
        percentiles: dict[str, float] = {}
        if values.size:
            found = np.percentile(values, PERCENTILES)
            percentiles = {str(p): float(v) for p, v in zip(PERCENTILES, found, strict=True)}
        return {
            "amplitude_percentiles": percentiles,
            "live_traces": self.live,
            "live_fraction": self.live / cells if cells else 0.0,
            "all_zero_traces": self.all_zero,
            "nonfinite_samples": self.nonfinite_samples,
            "nonfinite_traces": self.nonfinite_traces,
        }


def nonfinite_warning(nonfinite_samples: int, nonfinite_traces: int, **_: Any) -> str:
    """What non-finite amplitudes in a store mean, and the fix (takes the QC counts)."""
    samples, traces = nonfinite_samples, nonfinite_traces
    return (
        f"{samples} NaN or infinite amplitude samples in {traces} live traces, kept in the "
        f"store as they are: training refuses them unless {MASK_NONFINITE} (which leaves "
        "them out of the loss and the metrics), and prediction writes no-data there; or "
        "repair the SEG-Y."
    )


def survey_qc(survey: xr.Dataset) -> dict[str, Any]:
    """Geometry, live and dead traces, non-finite samples, amplitude percentiles of the
    finite live samples, sample axis and class counts. Counts a store made by an older
    facies does not hold are None."""
    inl, xl, smp = (survey[name].values for name in (INLINE, CROSSLINE, SAMPLE))
    attrs = survey.attrs
    live = np.asarray(survey[LIVE].values)
    qc: dict[str, Any] = {
        "shape": {name: int(survey.sizes[name]) for name in (INLINE, CROSSLINE, SAMPLE)},
        "inline": [int(inl[0]), int(inl[-1])],
        "crossline": [int(xl[0]), int(xl[-1])],
        "sample": [float(smp[0]), float(smp[-1]), float(attrs.get("sample_interval", 0))],
        "sample_units": survey[SAMPLE].attrs.get("units", ""),
        "live_fraction": float(live.mean()),
        "live_traces": int(np.count_nonzero(live)),
        "dead_flagged_traces": attrs.get("dead_flagged_traces"),
        "all_zero_traces": attrs.get("all_zero_traces"),
        "zero_traces": attrs.get("zero_traces"),
        "missing_traces": attrs.get("missing_traces"),
        "nonfinite_samples": attrs.get("nonfinite_samples"),
        "nonfinite_traces": attrs.get("nonfinite_traces"),
        "amplitude_percentiles": attrs.get("amplitude_percentiles", {}),
    }
    if LABELS in survey:
        counts = attrs.get("class_counts", [])
        names = attrs.get("class_names") or [str(k) for k in range(len(counts))]
        qc["class_counts"] = {
            (names[k] if k < len(names) else str(k)): int(c) for k, c in enumerate(counts)
        }
        qc["ignore_label"] = attrs.get("ignore_label")
    return qc


def _traces_line(qc: dict[str, Any]) -> str | None:
    parts = []
    if qc.get("dead_flagged_traces") is not None:
        byte = TRACE_IDENTIFICATION_CODE
        codes = " or ".join(str(code) for code in DEAD_TRACE_CODES)
        parts.append(
            f"{qc['dead_flagged_traces']} flagged dead (trace identification code {codes}, "
            f"bytes {byte}-{byte + 1})"
        )
    if qc.get("all_zero_traces") is not None:
        option = qc.get("zero_traces") or ZERO_TRACES_DEAD
        status = "dead" if option == ZERO_TRACES_DEAD else "kept live"
        parts.append(
            f"{qc['all_zero_traces']} all-zero ({status}: {SEGY_NODE}.zero_traces={option})"
        )
    if qc.get("missing_traces") is not None:
        parts.append(f"{qc['missing_traces']} grid cells without a trace")
    return ", ".join(parts) if parts else None


def format_qc(qc: dict[str, Any]) -> str:
    """The QC summary as a short text table."""
    shape = qc["shape"]
    first, last, step = qc["sample"]
    units = qc["sample_units"]
    lines = [
        f"grid        {shape[INLINE]} inlines {qc['inline'][0]}..{qc['inline'][1]} x "
        f"{shape[CROSSLINE]} crosslines {qc['crossline'][0]}..{qc['crossline'][1]}",
        f"samples     {shape[SAMPLE]}: {first:g}..{last:g} {units}, every {step:g} {units}",
        f"live        {qc['live_fraction']:.1%} of the grid: {qc['live_traces']} live traces",
    ]
    traces = _traces_line(qc)
    if traces:
        lines.append(f"not live    {traces}")
    samples, bad_traces = qc.get("nonfinite_samples"), qc.get("nonfinite_traces")
    if samples is not None:
        note = (
            f", kept as they are: train with {MASK_NONFINITE} (or repair the SEG-Y); "
            "prediction writes no-data there"
            if samples
            else ""
        )
        lines.append(f"non-finite  {samples} samples in {bad_traces} live traces{note}")
    pct = qc["amplitude_percentiles"]
    if pct:
        lines.append(
            "amplitude   "
            + "  ".join(f"p{p}={v:.4g}" for p, v in pct.items())
            + "  (finite samples of live traces)"
        )
    else:
        lines.append("amplitude   no finite sample in a live trace")
    if "class_counts" in qc:
        total = sum(qc["class_counts"].values()) or 1
        parts = [f"{name}: {n} ({n / total:.1%})" for name, n in qc["class_counts"].items()]
        lines.append("classes     " + ", ".join(parts))
        if qc.get("ignore_label") is not None:
            lines.append(f"unlabelled  value {qc['ignore_label']} (ignored in training)")
    return "\n".join(lines)
