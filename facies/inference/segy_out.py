"""The files ``facies predict`` writes for interpretation software.

- the facies SEG-Y: class ids as 2-byte integers, every input trace and its header, a
  textual header that says what it holds (class ids, the legend id = name, the no-data
  value, the model's checkpoint hash, facies' version, the source file name);
- beside it, the class legend as JSON and a colour table as CSV (id, name, R, G, B: the
  palette of every facies figure), which OpendTect and Petrel can import as a colour table;
- on request, confidence (the winning class's probability) and each class's probability as
  float32 SEG-Y files.

Each is written like a template (:func:`output_template`): the input SEG-Y, or the file a
survey store was ingested from, or, where that file has moved or changed since, the
headers the store kept of it.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from facies import plots
from facies.errors import ConfigError, OutputError
from facies.inference import prediction_store as ps
from facies.io.fingerprint import FingerprintCache, fingerprint
from facies.io.segy.scan import SegyScan
from facies.io.segy.template import SegyTemplate, as_template, template_of_scan
from facies.io.segy.writer import write_segy_streamed
from facies.io.store import STORE_RECORD, open_survey, segy_record_options
from facies.io.store_template import KeptHeadersError, template_of_store

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
    kept_in: str | Path | None = None,
) -> list[str]:
    """The textual-header lines of a facies output (see the module docstring);
    ``kept_in``: the survey store whose copy of the source's headers the file takes."""
    lines = [
        what,
        f"written by facies {version} (facies predict)",
        f"source: {Path(source).name}"[:76],
        f"model checkpoint: {Path(checkpoint.get('path', '')).name}"[:76],
        f"checkpoint {checkpoint.get('checksum', 'unknown')}"[:76],
    ]
    if kept_in is not None:
        lines.append(f"headers as kept in {Path(kept_in).name} (source not read)"[:76])
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
    template: SegyScan | SegyTemplate,
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
    SEG-Y files) from a complete prediction store; returns {what: path}.

    ``template``: what the files are written like (:func:`output_template`; a scanned
    SEG-Y file is its own template).
    """
    template = as_template(template)
    inputs = list(inputs)
    written = {}
    common = {"checkpoint": checkpoint, "source": source, "version": version}
    text_common = {**common, "kept_in": template.kept_in}
    text = describe("FACIES CLASS IDS (2-byte integers), one per sample", names, **text_common)
    write_segy_streamed(template, ps.BoxReader(store), output, integer=True,
                        overwrite=overwrite, inputs=inputs, text=text)  # fmt: skip
    written["segy"] = str(output)
    extra = {"segy": output.name, **common, "source": Path(source).name}
    if template.kept_in is not None:
        extra["headers_kept_in"] = str(template.kept_in)
    legend, table = write_legend(output, names, extra)
    written["legend"], written["colours"] = str(legend), str(table)
    if confidence:
        path = output.with_suffix(".confidence.sgy")
        text = describe("CONFIDENCE: probability of the predicted facies (float32, 0..1)",
                        names, nodata=0.0, **text_common)  # fmt: skip
        write_segy_streamed(template, ps.BoxReader(store, ps.CONFIDENCE), path, integer=False,
                            overwrite=overwrite, inputs=inputs, key="confidence",
                            text=text)  # fmt: skip
        written["confidence"] = str(path)
    if probabilities:
        for k, name in enumerate(names):
            path = output.with_suffix(f".probability-{k}-{_safe(name)}.sgy")
            text = describe(f"PROBABILITY of class {k}={name} (float32, 0..1)", names,
                            nodata=0.0, **text_common)  # fmt: skip
            write_segy_streamed(template, ClassReader(store, k), path, integer=False,
                                overwrite=overwrite, inputs=inputs, key="probabilities",
                                text=text)  # fmt: skip
            written[f"probability {name}"] = str(path)
    return written


def output_template(
    input_path: str | os.PathLike,
    scan: SegyScan | None,
    segy_options: dict[str, Any],
    fingerprints: FingerprintCache | None = None,
    survey: xr.Dataset | None = None,
) -> SegyTemplate:
    """What the facies SEG-Y of ``facies predict input=<input_path>`` is written like.

    A SEG-Y input is its own template. A survey store's is the SEG-Y file it was ingested
    from while that file is there, holds the same survey (the store's record) and is read
    with the SEG-Y options the store was ingested with; once it has moved or changed, the
    headers the store kept of it (:func:`facies.io.store_template.template_of_store`,
    proved against the record), never the headers of another file.

    Args:
        input_path: ``input=``: a SEG-Y file or a survey store.
        scan: the input scanned, or for a store its source file scanned (None if gone).
        segy_options: the job's ``segy.*`` options.
        fingerprints: the run's SEG-Y fingerprints (headers read once per run).
        survey: the store, opened, if at hand.

    Raises:
        ConfigError: the source is gone or changed and the store cannot stand in for it
            (it keeps no headers), or it is read with other SEG-Y options than ingested.
    """
    path = Path(input_path)
    if not path.is_dir():
        return template_of_scan(scan)
    survey = open_survey(path) if survey is None else survey
    source = survey.attrs.get("source") or "<unknown>"
    if scan is None:
        state = "which is gone (moved or deleted)"
    elif _same_source(path, survey, scan, segy_options, fingerprints):
        return template_of_scan(scan)
    else:
        state = "which has changed since (other size or headers)"
    try:
        template = template_of_store(path, survey)
    except KeptHeadersError as err:
        raise ConfigError(
            f"input={path} was ingested from {source}, {state}, and {err.reason}: give "
            "input=<that SEG-Y file, where it is now>, ingest it again (facies ingest "
            f"input=<the SEG-Y> output={path} overwrite=true), or predict into the store only "
            "with inlines=[<first>,<last>] write_segy=false."
        ) from None
    log.warning("input=%s was ingested from %s, %s: the facies SEG-Y takes the headers the "
                "store kept of it", path, source, state)  # fmt: skip
    return template


def _same_source(
    store: Path,
    survey: xr.Dataset,
    scan: SegyScan,
    segy_options: dict[str, Any],
    fingerprints: FingerprintCache | None,
) -> bool:
    """Whether the file at a store's source path holds the survey the store was made from
    (refused when read with other SEG-Y options than the store was ingested with)."""
    record = survey.attrs.get(STORE_RECORD)
    if not isinstance(record, dict):  # a store made before records: its size is all it says
        size = survey.attrs.get("source_size")
        return size is None or size == scan.layout.file_size
    options = segy_record_options(segy_options)
    if record.get("segy") and record["segy"] != options:
        differ = {k: v for k, v in record["segy"].items() if options.get(k) != v}
        hint = " ".join(f"segy.{k}={v}" for k, v in differ.items())
        raise ConfigError(
            f"input={store} was ingested with other SEG-Y options than these; pass the same "
            f"ones ({hint}) so the facies SEG-Y is laid out like {scan.layout.path}."
        )
    found = fingerprint(scan.layout.path, fingerprints)
    found.pop("path", None)
    wanted = {k: v for k, v in (record.get("seismic") or {}).items() if k in found}
    return wanted == {k: found[k] for k in wanted}


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
