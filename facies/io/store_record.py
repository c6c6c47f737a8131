"""What a survey store records about itself: what it was made from (its record) and
its attributes in a form netCDF takes too.

The record (attribute ``facies_store``, :func:`store_record`) holds the fingerprints of
the SEG-Y file and of the labels, the SEG-Y reading options, ``ignore_label``, the class
names and the store format. A cached store is reused only when its record is the one the
current inputs and options give (:mod:`facies.sources.survey`); a new
:data:`STORE_FORMAT` makes every cached store anew, saying "the store format" changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from facies.errors import OptionError
from facies.io import outputs
from facies.io.fingerprint import FingerprintCache, fingerprint
from facies.io.labels import labels_record, load_class_names
from facies.io.segy.scan import scan_segy

#: The store format: 2 added the record and the manifest; 3 the section layout (cubes
#: chunked by inline with the sample axis cut in ten, and a crossline copy:
#: :mod:`facies.io.store_layout`). Older stores still open and read correctly.
STORE_FORMAT = 3
#: Store attributes: what the store was made from.
STORE_RECORD = outputs.SURVEY_STORE_MARK
#: SEG-Y options that do not change what a store holds (a refusal threshold): left out
#: of the record, so changing them does not make a store anew.
CONTENT_NEUTRAL = frozenset({"min_live_fraction"})
#: Traces whose samples the record's checksum covers (spread over the file): an
#: amplitude-only change (reprocessing with the same headers) shows there.
RECORD_TRACES = 256
#: Attribute naming the attributes stored as JSON text (netCDF takes no mapping or null).
JSON_ATTRS = "facies_json_attrs"


def encode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes that netCDF (``to_netcdf``) takes: mappings, nulls and lists of anything
    but numbers become JSON text, named in :data:`JSON_ATTRS` (:func:`decode_attrs`)."""
    out, encoded = {}, []
    for key, value in attrs.items():
        if key == JSON_ATTRS:
            continue
        plain = isinstance(value, str | bool | int | float) or (
            isinstance(value, list)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        )
        if plain:
            out[key] = value
        else:
            out[key] = json.dumps(value, separators=(",", ":"))
            encoded.append(key)
    if encoded:
        out[JSON_ATTRS] = " ".join(encoded)
    return out


def decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes as facies wrote them: the JSON text :func:`encode_attrs` made, decoded."""
    names = attrs.get(JSON_ATTRS)
    if not isinstance(names, str):
        return dict(attrs)
    out = {k: v for k, v in attrs.items() if k != JSON_ATTRS}
    for key in names.split():
        if isinstance(out.get(key), str):
            with contextlib.suppress(ValueError):
                out[key] = json.loads(out[key])
    return out


def store_attrs(store: str | os.PathLike) -> dict[str, Any]:
    """A store's attributes, decoded (:func:`decode_attrs`); empty for no zarr group."""
    return decode_attrs(outputs.store_attributes(store) or {})


def segy_record_options(options: dict[str, Any]) -> dict[str, Any]:
    """Every SEG-Y option that changes what a store holds, with the readers' defaults
    filled in (so ``segy.iline=189`` and no ``segy.iline`` record the same)."""
    params = inspect.signature(scan_segy).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise OptionError(
            f"unknown SEG-Y option(s) {', '.join(unknown)} for {{key}}.", option="segy"
        )
    return {
        name: options.get(name, param.default)
        for name, param in params.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY and name not in CONTENT_NEUTRAL
    }


def _sampled_traces(path: Path) -> str | None:
    """Checksum of ``RECORD_TRACES`` whole traces spread over a SEG-Y file (None if it
    cannot be laid out): what the header fingerprint does not cover, sampled."""
    from facies.io.segy.layout import read_layout

    try:
        layout = read_layout(path)
    except Exception:  # not SEG-Y we can read: the scan says why
        return None
    count = layout.trace_count
    picks = np.unique(np.linspace(0, count - 1, min(count, RECORD_TRACES)).astype(np.int64))
    digest = hashlib.blake2b(digest_size=20)
    with open(layout.path, "rb") as fh:
        for k in picks:
            fh.seek(layout.first_trace_offset + int(k) * layout.trace_size)
            digest.update(fh.read(layout.trace_size))
    return f"blake2b:{digest.hexdigest()}"


def store_record(
    segy: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    ignore_label: int | None = None,
    class_names: str | os.PathLike | list[str] | None = None,
    fingerprints: FingerprintCache | None = None,
    **segy_options: Any,
) -> dict[str, Any]:
    """What a store made from these inputs and options holds, as its record says it.

    - ``seismic``: the SEG-Y fingerprint (:func:`facies.io.fingerprint.fingerprint`:
      size, file and trace headers) and a checksum of 256 whole traces spread over it;
    - ``labels``: size and a checksum of every byte (an interpreter's edit shows);
    - ``segy``: the reading options (:func:`segy_record_options`);
    - ``ignore_label``, ``class_names`` (the names, read from their JSON file), and
      ``format`` (:data:`STORE_FORMAT`).

    Paths are left out: the same file reached by another path (or copied) is the same
    survey. Two stores with equal records hold the same survey.
    """
    seismic = fingerprint(segy, fingerprints)
    seismic.pop("path", None)
    seismic["sampled_traces"] = _sampled_traces(Path(segy))
    label_record = None
    if labels:
        path = Path(labels)
        label_record = labels_record(path)
    return json.loads(
        json.dumps(
            {
                "format": STORE_FORMAT,
                "seismic": seismic,
                "labels": label_record,
                "segy": segy_record_options(segy_options),
                "ignore_label": ignore_label,
                "class_names": load_class_names(class_names),
            }
        )
    )


def record_digest(record: dict[str, Any], length: int = 10) -> str:
    """A short hex digest of a store record: part of a cached store's name."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length]


def read_record(store: str | os.PathLike) -> dict[str, Any] | None:
    """The record of a survey store (None for one made before records existed)."""
    attrs = store_attrs(store)
    record = attrs.get(STORE_RECORD)
    return record if isinstance(record, dict) else None


def record_differences(found: dict[str, Any] | None, expected: dict[str, Any]) -> list[str]:
    """What differs between a store's record and the one wanted, in words."""
    if found is None:
        return ["it records no inputs (made by an older facies)"]
    words = {
        "seismic": "the SEG-Y file",
        "labels": "the labels",
        "class_names": "the class names",
        "ignore_label": "ignore_label",
        "format": "the store format",
    }
    differ = []
    for key, value in expected.items():
        old = found.get(key)
        if old == value:
            continue
        if key == "segy" and isinstance(old, dict):
            names = sorted(k for k in set(old) | set(value) if old.get(k) != value.get(k))
            changes = ", ".join(f"{k} {old.get(k)!r} -> {value.get(k)!r}" for k in names)
            differ.append(f"SEG-Y options ({changes})")
        elif key in ("ignore_label", "class_names"):
            differ.append(f"{words[key]} ({old!r} -> {value!r})")
        else:
            differ.append(words.get(key, key))
    return differ
