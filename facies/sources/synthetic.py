"""The built-in synthetic survey: labelled seismic that a model must read texture to segment.

Six facies by default, each with its own seismic character (parallel continuous,
chaotic, transparent, high amplitude, clinoforms, thin beds), in layers between folded
horizons, offset by normal faults and cut by channels; see
:mod:`facies.sources.geology` for the model. Everything follows from the seed.

Small surveys come back as arrays (:func:`synthetic_arrays`, :func:`synthetic_dataset`);
:func:`make_synthetic_survey` writes SEG-Y files of any size block by block, so memory
is bounded by a block of inlines, not by the survey.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import textwrap
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from facies.errors import ConfigError, OutputError
from facies.io import outputs
from facies.io.atomic import atomic_target
from facies.io.segy.create import SegySpec, inline_block_writer
from facies.io.segy.reader import PROGRESS_BYTES
from facies.names import AMPLITUDE, CDP_X, CDP_Y, CROSSLINE, DIMS, INLINE, LABELS, LIVE, SAMPLE, TWT
from facies.sources.geology import Geology

log = logging.getLogger(__name__)

FIRST_INLINE, FIRST_CROSSLINE = 100, 300
BIN_M = 25.0  # bin size along both axes, metres
ORIGIN = (620_000.0, 6_080_000.0)  # CDP X/Y of the first trace
AZIMUTH_DEG = 30.0  # the grid is rotated by this angle
BLOCK_SAMPLES = 2**21  # samples generated at once (a block of whole inlines)
IN_MEMORY_SAMPLES = 2**27  # synthetic_arrays refuses surveys larger than this
_SIZES = ("n_inlines", "n_crosslines", "n_samples")
#: ``sparse_traces``: write only the labelled traces (a SEG-Y of a few sections), or every
#: trace with the others' labels set to :data:`SPARSE_IGNORE` (train with
#: ``data.ignore_label=255``).
SPARSE_TRACES = ("labelled", "all")
SPARSE_IGNORE = 255
SPARSE_DEFAULTS = {
    "labelled_inlines": 0,
    "labelled_crosslines": 0,
    "sparse_traces": "labelled",
    "lines": 0,
}
FILES = {
    "seismic": "seismic.sgy",
    "labels": "labels.sgy",
    "classes": "classes.json",
    "figure": "sections.png",
}


@dataclass(frozen=True)
class SynthParams:
    """Everything that decides a synthetic survey; checked when made.

    Attributes:
        n_inlines, n_crosslines, n_samples: size of the cube (each at least 8).
        n_facies: number of classes (2 to 32).
        seed: the survey is a pure function of the parameters and this seed.
        frequency: peak frequency of the Ricker wavelet, Hz.
        noise: noise RMS relative to a unit-gain facies' reflectivity RMS.
        n_layers: layers between horizons; None for ``n_facies + 2``.
        n_faults, n_channels: normal faults and channel bodies.
        fold, throw: fold amplitude and fault throw as fractions of ``n_samples``.
        sample_interval: ms.
    """

    n_inlines: int = 128
    n_crosslines: int = 128
    n_samples: int = 128
    n_facies: int = 6
    seed: int = 0
    frequency: float = 25.0
    noise: float = 0.1
    n_layers: int | None = None
    n_faults: int = 2
    n_channels: int = 2
    fold: float = 0.08
    throw: float = 0.06
    sample_interval: float = 4.0
    labelled_inlines: int = 0
    labelled_crosslines: int = 0
    sparse_traces: str = "labelled"
    lines: int = 0

    def __post_init__(self) -> None:
        counts = {k: v for k, v in asdict(self).items() if k.startswith("n_") or k == "seed"}
        bad = {k: v for k, v in counts.items() if not isinstance(v, int) and v is not None}
        small = {k: v for k, v in counts.items() if k in _SIZES and not bad and v < 8}
        if bad or small:
            raise ConfigError(
                f"{bad or small}: sizes, counts and seed must be whole numbers, and "
                f"n_inlines, n_crosslines and n_samples at least 8."
            )
        if not 2 <= self.n_facies <= 32:
            raise ConfigError(f"n_facies={self.n_facies}; use 2 to 32 facies.")
        if not self.n_facies + 2 <= self.layers <= 128:
            raise ConfigError(
                f"n_layers={self.n_layers} for {self.n_facies} facies; use n_facies + 2 "
                f"({self.n_facies + 2}) to 128 layers, or null for the default."
            )
        if self.n_samples < 5 * (self.layers - 2):
            raise ConfigError(
                f"n_samples={self.n_samples} is too thin for {self.layers} layers; use "
                f"n_samples >= {5 * (self.layers - 2)} or fewer facies/layers."
            )
        nyquist = 500.0 / self.sample_interval if self.sample_interval > 0 else 0.0
        if not 0 < self.sample_interval <= 65 or not 2 <= self.frequency < nyquist:
            raise ConfigError(
                f"frequency={self.frequency} Hz with sample_interval={self.sample_interval} ms; "
                f"use a sample interval in (0, 65] ms and a frequency from 2 Hz to below "
                f"Nyquist ({nyquist:g} Hz), e.g. 25 Hz at 4 ms."
            )
        self._check_sparse()
        bounds = {"noise": (0, 10), "fold": (0, 0.5), "throw": (0, 0.5), "n_faults": (0, 16)}
        bounds |= {"n_channels": (0, 16), "seed": (0, 2**63 - 1)}
        for key, (lo, hi) in bounds.items():
            if not lo <= getattr(self, key) <= hi:
                raise ConfigError(f"{key}={getattr(self, key)}; use a value from {lo} to {hi}.")

    def _check_sparse(self) -> None:
        sparse = {"labelled_inlines": (self.labelled_inlines, self.n_inlines)}
        sparse |= {"labelled_crosslines": (self.labelled_crosslines, self.n_crosslines)}
        sparse |= {"lines": (self.lines, self.n_inlines)}
        for key, (v, most) in sparse.items():
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= most:
                raise ConfigError(f"{key}={v!r}; use a whole number from 0 to {most}.")
        if self.sparse_traces not in SPARSE_TRACES:
            raise ConfigError(
                f"sparse_traces={self.sparse_traces!r}; use one of {', '.join(SPARSE_TRACES)}."
            )
        if self.lines and (self.labelled_inlines or self.labelled_crosslines):
            raise ConfigError(
                "lines=... writes 2-D lines, labelled everywhere; leave labelled_inlines and "
                "labelled_crosslines at 0 with it."
            )

    @property
    def sparse(self) -> bool:
        """Labels only on a few inlines and crosslines (see :func:`labelled_lines`)."""
        return bool(self.labelled_inlines or self.labelled_crosslines)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(n_inlines, n_crosslines, n_samples)."""
        return (self.n_inlines, self.n_crosslines, self.n_samples)

    @property
    def layers(self) -> int:
        """Number of layers, the default resolved."""
        return self.n_facies + 2 if self.n_layers is None else self.n_layers


@dataclass(frozen=True)
class SyntheticSurvey:
    """What :func:`make_synthetic_survey` wrote."""

    paths: dict[str, Path]
    shape: tuple[int, int, int]
    class_names: list[str]
    class_counts: list[int]


#: First line of the synthetic survey's textual header; the settings follow it.
SETTINGS_TITLE = "facies synthetic survey"


def settings_text(params: SynthParams | dict) -> str:
    """The settings a synthetic survey is made from, as written in its textual header."""
    p = params if isinstance(params, SynthParams) else SynthParams(**params)
    # the sparse and 2-D settings are written only when set: dense surveys keep their header
    return ", ".join(
        f"{k}={v}"
        for k, v in asdict(p).items()
        if k not in SPARSE_DEFAULTS or v != SPARSE_DEFAULTS[k]
    )


def made_with(textual_header: str, params: SynthParams | dict) -> bool | None:
    """Whether a survey's textual header records exactly these synthetic settings;
    None when the header is not a facies synthetic survey's."""
    body = [re.sub(r"^C\s*\d+\s?", "", line) for line in textual_header.splitlines()]
    squashed = "".join("".join(body).split())
    if not squashed.startswith("".join(SETTINGS_TITLE.split())):
        return None
    return "".join(settings_text(params).split()) in squashed


def survey_geometry(n_inlines: int, n_crosslines: int) -> tuple[np.ndarray, ...]:
    """Inline and crossline numbers and the (rotated) CDP X/Y grid of a synthetic survey."""
    inlines = np.arange(FIRST_INLINE, FIRST_INLINE + n_inlines)
    crosslines = np.arange(FIRST_CROSSLINE, FIRST_CROSSLINE + n_crosslines)
    ii, jj = np.meshgrid(np.arange(n_inlines), np.arange(n_crosslines), indexing="ij")
    az = math.radians(AZIMUTH_DEG)
    cdp_x = ORIGIN[0] + BIN_M * (jj * math.cos(az) - ii * math.sin(az))
    cdp_y = ORIGIN[1] + BIN_M * (jj * math.sin(az) + ii * math.cos(az))
    return inlines, crosslines, np.round(cdp_x, 2), np.round(cdp_y, 2)


def synthetic_arrays(**params: object) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A small synthetic survey in memory: amplitude (float32), labels (int16), class names.

    Args:
        **params: fields of :class:`SynthParams`.
    """
    p = SynthParams(**params)
    total = math.prod(p.shape)
    if total > IN_MEMORY_SAMPLES:
        raise ConfigError(
            f"{p.shape} is {total} samples, too many to hold in memory (limit "
            f"{IN_MEMORY_SAMPLES}); write it to disk with make_synthetic_survey instead."
        )
    geology = Geology(p)
    amplitude, labels = geology.block(0, p.n_inlines)
    return amplitude, labels, geology.class_names


def synthetic_dataset(**params: object) -> xr.Dataset:
    """A small synthetic survey as the ``xarray.Dataset`` that reading its SEG-Y would give."""
    p = SynthParams(**params)
    amplitude, labels, names = synthetic_arrays(**params)
    inlines, crosslines, cdp_x, cdp_y = survey_geometry(p.n_inlines, p.n_crosslines)
    twt = np.arange(p.n_samples) * p.sample_interval
    coords = {
        INLINE: inlines,
        CROSSLINE: crosslines,
        SAMPLE: (SAMPLE, twt, {"units": "ms", "domain": TWT}),
        TWT: (SAMPLE, twt, {"units": "ms", "domain": TWT}),
        CDP_X: ((INLINE, CROSSLINE), cdp_x),
        CDP_Y: ((INLINE, CROSSLINE), cdp_y),
    }
    data = {
        AMPLITUDE: (DIMS, amplitude),
        LABELS: (DIMS, labels),
        LIVE: ((INLINE, CROSSLINE), np.ones(p.shape[:2], dtype=bool)),
    }
    attrs = {"class_names": names, "sample_interval": p.sample_interval, "source": "synthetic"}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def make_synthetic_survey(
    out_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    figure: bool = True,
    block_inlines: int | None = None,
    **params: object,
) -> SyntheticSurvey:
    """Write a synthetic survey: seismic.sgy, labels.sgy, classes.json and sections.png.

    The survey is generated and written a block of inlines at a time, so any size fits
    in memory; each file appears only when complete.

    Args:
        out_dir: folder for the files; created if missing.
        overwrite: replace a survey already in ``out_dir``.
        figure: also draw the middle inline and crossline beside their labels.
        block_inlines: inlines per block; None for about ``BLOCK_SAMPLES`` samples.
        **params: fields of :class:`SynthParams`.

    Raises:
        OutputError: ``out_dir`` already holds a survey (without ``overwrite``), is
            not a folder, or its disk has too little room.
    """
    p = SynthParams(**params)
    if block_inlines is not None and (not isinstance(block_inlines, int) or block_inlines < 1):
        raise ConfigError(f"block_inlines={block_inlines!r}; use a whole number >= 1, or null.")
    out = Path(out_dir)
    paths = {key: out / name for key, name in FILES.items()}
    _check_output(out, paths, overwrite, p)
    if p.lines or (p.sparse and p.sparse_traces == "labelled"):
        return _make_traces(out, paths, p)
    geology = Geology(p)
    nil, nxl, ns = p.shape
    step = block_inlines or max(1, BLOCK_SAMPLES // (nxl * ns))
    inlines, crosslines, cdp_x, cdp_y = survey_geometry(nil, nxl)
    geometry = dict(cdp_x=cdp_x, cdp_y=cdp_y)
    interval = round(p.sample_interval * 1000)
    text = "\n".join([SETTINGS_TITLE, *textwrap.wrap(settings_text(p), 75)])
    specs = {
        "seismic": SegySpec(sample_interval_us=interval, format_code=5, text=text),
        "labels": SegySpec(sample_interval_us=interval, format_code=3, text=text),
    }
    counts = np.zeros(p.n_facies, dtype=np.int64)
    on_lines = line_mask(p)
    sections = np.zeros((2, nil, ns), dtype=np.float32)  # crossline section: amp, labels
    mid_il, mid_xl = nil // 2, nxl // 2
    big = nil * nxl * ns * 6 > PROGRESS_BYTES
    with outputs.writing_to(out), _whole_or_nothing(paths), ExitStack() as stack:
        writers = {
            key: stack.enter_context(
                inline_block_writer(paths[key], inlines, crosslines, ns, spec=spec, **geometry)
            )
            for key, spec in specs.items()
        }
        bar = stack.enter_context(tqdm(total=nil, unit="inline", desc="synth", disable=not big))
        for i0 in range(0, nil, step):
            i1 = min(i0 + step, nil)
            amplitude, labels = geology.block(i0, i1)
            if p.sparse:  # every trace written, labels only on the labelled lines
                labels[~on_lines[i0:i1]] = SPARSE_IGNORE
            writers["seismic"](amplitude)
            writers["labels"](labels)
            kept = labels[labels != SPARSE_IGNORE] if p.sparse else labels
            counts += np.bincount(kept.ravel(), minlength=p.n_facies)[: p.n_facies]
            sections[0, i0:i1], sections[1, i0:i1] = amplitude[:, mid_xl], labels[:, mid_xl]
            if i0 <= mid_il < i1:
                inline = (amplitude[mid_il - i0].copy(), labels[mid_il - i0].copy())
            bar.update(i1 - i0)
    with outputs.writing_to(out), _whole_or_nothing(paths):
        with atomic_target(paths["classes"]) as tmp:
            tmp.write_text(json.dumps(geology.class_names, indent=2) + "\n")
        if figure:
            plot_sections(
                paths["figure"], inline, (sections[0], sections[1].astype(np.int16)),
                geology.class_names, (inlines[mid_il], crosslines[mid_xl]),
            )  # fmt: skip
    if not figure:
        paths.pop("figure").unlink(missing_ok=True)  # a figure of an older survey would lie
    log.info("wrote a %s synthetic survey to %s", p.shape, out)
    return SyntheticSurvey(paths, p.shape, geology.class_names, [int(c) for c in counts])


def labelled_lines(p: SynthParams) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the labelled inlines and crosslines of a sparse survey (the inlines
    written as 2-D lines with ``lines``), spread evenly over the survey."""

    def spread(n: int, size: int) -> np.ndarray:
        return np.array([int((k + 0.5) * size / n) for k in range(n)], dtype=np.int64)

    if p.lines:
        return spread(p.lines, p.n_inlines), np.zeros(0, dtype=np.int64)
    return spread(p.labelled_inlines, p.n_inlines), spread(p.labelled_crosslines, p.n_crosslines)


def line_mask(p: SynthParams) -> np.ndarray:
    """(inline, crossline) True on the labelled lines (everywhere for a dense survey)."""
    if not (p.sparse or p.lines):
        return np.ones(p.shape[:2], dtype=bool)
    il, xl = labelled_lines(p)
    mask = np.zeros(p.shape[:2], dtype=bool)
    mask[il] = True
    mask[:, xl] = True
    return mask


def _make_traces(out: Path, paths: dict[str, Path], p: SynthParams) -> SyntheticSurvey:
    """Write only the traces of the labelled lines: a sparse survey's few inlines and
    crosslines (a SEG-Y holding only them, on the survey's 3-D grid), or 2-D lines (the
    line number at byte 9, the trace (CDP) number at byte 21, bytes 189/193 left 0, as
    2-D lines come from interpretation software). Memory follows the traces written."""
    from facies.io.segy import fields
    from facies.io.segy.create import _binary_header, _Geometry, _records, _text_header

    geology = Geology(p)
    nil, nxl, ns = p.shape
    mask = line_mask(p)
    il_idx, xl_idx = np.nonzero(mask)  # inline-major
    where = np.full(mask.shape, -1, dtype=np.int64)
    where[il_idx, xl_idx] = np.arange(len(il_idx))
    amplitude = np.empty((len(il_idx), ns), dtype=np.float32)
    labels = np.empty((len(il_idx), ns), dtype=np.int16)
    rows, cols = labelled_lines(p)
    for k in rows:
        amp, lab = geology.traces(np.full((1, nxl), k), np.arange(nxl)[None])
        amplitude[where[k]], labels[where[k]] = amp[0], lab[0]
    for j in cols:
        amp, lab = geology.traces(np.arange(nil)[:, None], np.full((nil, 1), j))
        amplitude[where[:, j]], labels[where[:, j]] = amp[:, 0], lab[:, 0]
    inlines, crosslines, cdp_x, cdp_y = survey_geometry(nil, nxl)
    text = "\n".join([SETTINGS_TITLE, *textwrap.wrap(settings_text(p), 75)])
    keys = {}
    if p.lines:  # 2-D lines: line number and trace (CDP) number
        keys = {"iline_byte": fields.FIELD_RECORD, "xline_byte": fields.CDP}
        crosslines = np.arange(1, nxl + 1)
    interval = round(p.sample_interval * 1000)
    with outputs.writing_to(out), _whole_or_nothing(paths):
        for key, values, code in (("seismic", amplitude, 5), ("labels", labels, 3)):
            spec = SegySpec(sample_interval_us=interval, format_code=code, text=text, **keys)
            geometry = _Geometry(inlines, crosslines, ns, cdp_x, cdp_y, spec)
            records = _records(geometry, il_idx, xl_idx, values, first_trace=0)
            if p.lines:  # no 3-D line numbers in a 2-D line's headers
                records[:, fields.INLINE_3D - 1 : fields.CROSSLINE_3D + 3] = 0
            with atomic_target(paths[key]) as tmp, tmp.open("wb") as fh:
                fh.write(_text_header(spec.text))
                fh.write(_binary_header(spec, ns))
                fh.write(records.tobytes())
        with atomic_target(paths["classes"]) as tmp:
            tmp.write_text(json.dumps(geology.class_names, indent=2) + "\n")
    paths.pop("figure").unlink(missing_ok=True)  # no figure of a sparse survey
    counts = np.bincount(labels.ravel(), minlength=p.n_facies)[: p.n_facies]
    what = f"{p.lines} 2-D line(s)" if p.lines else f"{len(rows)} inlines + {len(cols)} crosslines"
    log.info("wrote %s (%d traces) of a %s synthetic survey to %s", what, len(il_idx), p.shape, out)
    return SyntheticSurvey(paths, p.shape, geology.class_names, [int(c) for c in counts])


def _check_output(out: Path, paths: dict[str, Path], overwrite: bool, p: SynthParams) -> None:
    """The output rule (:mod:`facies.io.outputs`) for a synthetic survey folder: files
    are added to any folder, but ``overwrite`` replaces them only in a folder that holds
    nothing but facies' files (a synthetic survey, its stores)."""
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise OutputError(
            f"output={out} is a file; give a folder for the synthetic survey (e.g. "
            "output=data/synthetic)."
        )
    existing = [path.name for path in paths.values() if path.exists() or path.is_symlink()]
    if existing and not overwrite:
        what = ", ".join(existing)
        if is_synthetic_segy(paths["seismic"]):
            what = f"a synthetic survey ({what})"
        raise OutputError(
            f"output={out} already holds {what}; pass overwrite=true to replace a "
            "synthetic survey made by facies, or choose another output= folder."
        )
    if existing:
        foreign = _not_ours(out)
        if foreign:
            raise OutputError(
                f"output={out} holds {', '.join(foreign[:3])}"
                f"{' ...' if len(foreign) > 3 else ''}, not made by facies synth; "
                "overwrite=true replaces only a folder holding nothing but a facies "
                "synthetic survey: choose another output= folder."
            )
    outputs.ensure_writable(out, path=out)
    nil, nxl, ns = p.shape
    outputs.check_space(out, 2 * 3600 + nil * nxl * (2 * 240 + ns * 6), path=out)


def is_synthetic_segy(path: Path) -> bool:
    """Whether ``path`` is a SEG-Y file of a facies synthetic survey (by its textual header)."""
    from facies.io.segy.headers import decode_text

    try:
        with path.open("rb") as fh:
            header = decode_text(fh.read(3200))
    except OSError:
        return False
    return made_with(header, SynthParams()) is not None


def _not_ours(out: Path) -> list[str]:
    """Names in ``out`` that facies synth did not make (sorted): anything but the survey's
    files (seismic.sgy and labels.sgy recognised by their textual header; classes.json
    and sections.png only beside such a seismic.sgy), facies' temporary files and
    survey stores."""
    seismic_ours = is_synthetic_segy(out / FILES["seismic"])
    foreign = []
    for entry in sorted(out.iterdir()):
        name = entry.name
        if name in (FILES["seismic"], FILES["labels"]):
            ours = entry.is_file() and not entry.is_symlink() and is_synthetic_segy(entry)
        elif name in (FILES["classes"], FILES["figure"]):
            ours = seismic_ours and entry.is_file() and not entry.is_symlink()
        elif entry.is_dir() and not entry.is_symlink():
            ours = outputs.is_facies_survey_store(entry) or any(
                entry in outputs.temporaries(out / n) for n in FILES.values()
            )
        else:
            ours = any(entry in outputs.temporaries(out / n) for n in FILES.values())
        if not ours:
            foreign.append(name)
    return foreign


@contextmanager
def _whole_or_nothing(paths: dict[str, Path]):
    """A full disk while the survey is written leaves none of its files (each is written
    whole or not at all; this removes those already in place)."""
    try:
        yield
    except OSError as err:
        if err.errno in outputs.DISK_FULL:
            for path in paths.values():
                path.unlink(missing_ok=True)
        raise


def plot_sections(
    path: Path,
    inline: tuple[np.ndarray, np.ndarray],
    crossline: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    numbers: tuple[int, int],
) -> Path:
    """Draw one inline and one crossline (amplitude beside labels) into a PNG, atomically."""
    from facies.plots import SEISMIC_CMAP, class_colormap, class_norm, figure, seismic_clip

    n = len(class_names)
    cmap, norm = class_colormap(n), class_norm(n)
    clip = seismic_clip(inline[0])
    fig = figure((11, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    for row, (name, number, (amp, lab)) in enumerate(
        (("inline", numbers[0], inline), ("crossline", numbers[1], crossline))
    ):
        shown = {"aspect": "auto", "interpolation": "nearest"}  # no blending of classes
        axes[row, 0].imshow(amp.T, cmap=SEISMIC_CMAP, vmin=-clip, vmax=clip, **shown)
        image = axes[row, 1].imshow(lab.T, cmap=cmap, norm=norm, **shown)
        axes[row, 0].set_title(f"{name} {number}: amplitude")
        axes[row, 1].set_title(f"{name} {number}: facies")
        for ax in axes[row]:
            ax.set_xlabel("crossline index" if name == "inline" else "inline index")
            ax.set_ylabel("sample")
    bar = fig.colorbar(image, ax=axes[:, 1], ticks=np.arange(n))
    bar.ax.set_yticklabels(class_names)
    with atomic_target(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    return path
