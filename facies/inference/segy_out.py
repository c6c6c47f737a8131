"""The files ``facies predict`` writes for interpretation software.

- the facies SEG-Y: class ids as 2-byte integers, every input trace and its header, a
  textual header that says what it holds (class ids, the legend id = name, the no-data
  value, the model's checkpoint hash, facies' version, the source file name);
- beside it, the class legend as JSON and a colour table as CSV (id, name, R, G, B: the
  palette of every facies figure), which OpendTect and Petrel can import as a colour table;
- on request, confidence (the winning class's probability) and each class's probability as
  float32 SEG-Y files.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from facies import plots
from facies.errors import OutputError
from facies.inference import prediction_store as ps
from facies.io.segy.scan import SegyScan
from facies.io.segy.writer import write_segy_streamed

log = logging.getLogger(__name__)


def legend_lines(names: list[str], nodata: int = ps.NO_TRACE) -> list[str]:
    """``id=name`` pairs as textual-header lines of at most 76 characters."""
    pairs = [f"{k}={name}" for k, name in enumerate(names)] + [f"{nodata}=no data"]
    lines, line = [], "legend:"
    for pair in pairs:
        if len(line) + 1 + len(pair) > 76:
            lines.append(line)
            line = "       "
        line += " " + pair
    return [*lines, line]


def describe(
    what: str,
    names: list[str],
    *,
    checkpoint: dict[str, Any],
    source: str | Path,
    version: str,
    nodata: int | float | None = ps.NO_TRACE,
) -> list[str]:
    """The textual-header lines of a facies output (see the module docstring)."""
    lines = [
        what,
        f"written by facies {version} (facies predict)",
        f"source: {Path(source).name}"[:76],
        f"model checkpoint: {Path(checkpoint.get('path', '')).name}"[:76],
        f"checkpoint {checkpoint.get('checksum', 'unknown')}"[:76],
    ]
    if nodata is not None:
        lines.append(f"no-data value {nodata}: dead or missing traces, non-finite input")
    return [*lines, *legend_lines(names, ps.NO_TRACE if nodata is None else int(nodata))]


def write_legend(output: Path, names: list[str], extra: dict[str, Any]) -> tuple[Path, Path]:
    """``<output stem>.legend.json`` and ``<output stem>.colours.csv`` beside ``output``."""
    colours = plots.class_colors(len(names))  # "#rrggbb", the palette of every figure
    rgb = [tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)) for colour in colours]
    legend = output.with_suffix(".legend.json")
    table = output.with_suffix(".colours.csv")
    for path, mark in ((legend, '"no_data"'), (table, "id,name,R,G,B")):
        if path.exists() and mark not in path.read_text(errors="replace")[:4096]:
            raise OutputError(
                f"{path} exists and is not a legend written by facies; move it away, or "
                "choose another output=."
            )
    legend.write_text(
        json.dumps(
            {
                "classes": [
                    {"id": k, "name": name, "rgb": list(rgb[k]), "hex": colours[k]}
                    for k, name in enumerate(names)
                ],
                "no_data": ps.NO_TRACE,
                **extra,
            },
            indent=2,
        )
        + "\n"
    )
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "R", "G", "B"])
        for k, name in enumerate(names):
            writer.writerow([k, name, *rgb[k]])
    return legend, table


def write_outputs(
    scan: SegyScan,
    store: Path,
    output: Path,
    names: list[str],
    *,
    checkpoint: dict[str, Any],
    source: str | Path,
    version: str,
    overwrite: bool,
    inputs: Iterable[Any],
    confidence: bool = False,
    probabilities: bool = False,
) -> dict[str, str]:
    """Write the facies SEG-Y (and the legend, and on request confidence and probability
    SEG-Y files) from a complete prediction store; returns {what: path}."""
    inputs = list(inputs)
    written = {}
    common = {"checkpoint": checkpoint, "source": source, "version": version}
    text = describe("FACIES CLASS IDS (2-byte integers), one per sample", names, **common)
    write_segy_streamed(scan, ps.BoxReader(store), output, integer=True, overwrite=overwrite,
                        inputs=inputs, text=text)  # fmt: skip
    written["segy"] = str(output)
    legend, table = write_legend(
        output, names, {"segy": output.name, **common, "source": Path(source).name}
    )
    written["legend"], written["colours"] = str(legend), str(table)
    if confidence:
        path = output.with_suffix(".confidence.sgy")
        text = describe("CONFIDENCE: probability of the predicted facies (float32, 0..1)",
                        names, nodata=0.0, **common)  # fmt: skip
        write_segy_streamed(scan, ps.BoxReader(store, ps.CONFIDENCE), path, integer=False,
                            overwrite=overwrite, inputs=inputs, key="confidence",
                            text=text)  # fmt: skip
        written["confidence"] = str(path)
    if probabilities:
        for k, name in enumerate(names):
            path = output.with_suffix(f".probability-{k}-{_safe(name)}.sgy")
            text = describe(f"PROBABILITY of class {k}={name} (float32, 0..1)", names,
                            nodata=0.0, **common)  # fmt: skip
            write_segy_streamed(scan, ClassReader(store, k), path, integer=False,
                                overwrite=overwrite, inputs=inputs, key="probabilities",
                                text=text)  # fmt: skip
            written[f"probability {name}"] = str(path)
    return written


class ClassReader(ps.BoxReader):
    """``values_at`` of one class's probabilities (the store holds them class first)."""

    def __init__(self, store: Path, k: int) -> None:
        super().__init__(store, ps.PROBABILITY)
        self.k = k
        self.array = _ClassView(self.array, k)


class _ClassView:
    def __init__(self, array: Any, k: int) -> None:
        self.array, self.k = array, k

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.array[(self.k, *key)]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
