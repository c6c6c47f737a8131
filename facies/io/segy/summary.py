"""What a geoscientist checks first about a SEG-Y file, as a dict and as text."""

from __future__ import annotations

from typing import Any

import numpy as np

from facies.io.segy.fields import TRACE_IDENTIFICATION_CODE
from facies.io.segy.formats import SAMPLE_FORMATS
from facies.io.segy.scan import DEAD_TRACE_CODES, SegyScan


def _axis(values: np.ndarray) -> dict[str, int]:
    step = int(values[1] - values[0]) if len(values) > 1 else 0
    return {"first": int(values[0]), "last": int(values[-1]), "step": step, "count": len(values)}


def _extent(values: np.ndarray) -> list[float] | None:
    finite = values[np.isfinite(values)]
    return [float(finite.min()), float(finite.max())] if finite.size else None


def summarize(scan: SegyScan) -> dict[str, Any]:
    """Plain-container summary of a scanned file (JSON-ready)."""
    layout, grid, hb = scan.layout, scan.grid, scan.header_bytes
    return {
        "path": str(layout.path),
        "file_size": layout.file_size,
        "segy_revision": layout.revision,
        "endian": layout.endian,
        "sample_format": layout.format_code,
        "sample_format_name": SAMPLE_FORMATS[layout.format_code].name,
        "traces": layout.trace_count,
        "dead_flagged_traces": grid.dead_flagged,
        "grid_cells": grid.cells,
        "missing_traces": grid.missing,
        "sorting": grid.sorting,
        "header_bytes": {"iline": hb.iline, "xline": hb.xline, "offset": hb.offset},
        "inline": _axis(grid.inlines),
        "crossline": _axis(grid.crosslines),
        "samples": layout.samples_per_trace,
        "sample_interval": scan.sample_interval,
        "first_sample": float(scan.samples[0]),
        "domain": scan.domain,
        "live_fraction": grid.live_fraction,
        "coordinate_bytes": list(scan.coordinate_bytes),
        "x_extent": _extent(scan.cdp_x),
        "y_extent": _extent(scan.cdp_y),
        "extended_text_headers": layout.ext_text_headers,
    }


def format_summary(summary: dict[str, Any], text: str | None = None) -> str:
    """Human-readable table of :func:`summarize`'s output, with the textual header."""
    unit = "ms" if summary["domain"] == "twt" else "m"
    il, xl = summary["inline"], summary["crossline"]
    hb = summary["header_bytes"]
    rows = [
        ("file", f"{summary['path']} ({summary['file_size'] / 2**20:.1f} MiB)"),
        ("revision", summary["segy_revision"]),
        ("sample format", f"{summary['sample_format']} ({summary['sample_format_name']})"),
        ("endianness", summary["endian"]),
        ("traces", _fmt_traces(summary)),
        ("grid cells", f"{summary['grid_cells']}, {summary['missing_traces']} without a trace"),
        ("sorting", summary["sorting"]),
        ("geometry", _fmt_geometry(il["count"], xl["count"])),
        (
            "inlines",
            f"{il['first']}..{il['last']} step {il['step']} ({il['count']}), byte {hb['iline']}",
        ),
        (
            "crosslines",
            f"{xl['first']}..{xl['last']} step {xl['step']} ({xl['count']}), byte {hb['xline']}",
        ),
        (
            "samples",
            f"{summary['samples']} x {summary['sample_interval']:g} {unit}, "
            f"first at {summary['first_sample']:g} {unit} ({summary['domain']})",
        ),
        (
            "live fraction",
            f"{summary['live_fraction']:.1%} of the grid: traces not flagged dead "
            "(all-zero traces, known from the samples, are counted by facies ingest)",
        ),
        ("x extent", _fmt_extent(summary["x_extent"], summary["coordinate_bytes"][0])),
        ("y extent", _fmt_extent(summary["y_extent"], summary["coordinate_bytes"][1])),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    if text:
        lines += ["", "textual header:", text]
    return "\n".join(lines)


def _fmt_traces(summary: dict[str, Any]) -> str:
    dead = summary["dead_flagged_traces"]
    byte = TRACE_IDENTIFICATION_CODE
    codes = " or ".join(str(code) for code in DEAD_TRACE_CODES)
    return (
        f"{summary['traces']}, {dead} flagged dead (trace identification code {codes}, "
        f"bytes {byte}-{byte + 1}: not live)"
    )


def _fmt_extent(extent: list[float] | None, byte: int) -> str:
    return "none" if extent is None else f"{extent[0]:.2f} .. {extent[1]:.2f} (byte {byte})"


def _fmt_geometry(n_inlines: int, n_crosslines: int) -> str:
    """A 2-D line (one inline or one crossline) or a 3-D grid."""
    if n_inlines == 1 or n_crosslines == 1:
        return f"2-D line of {max(n_inlines, n_crosslines)} traces"
    return "3-D grid"
