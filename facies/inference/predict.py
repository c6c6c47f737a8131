"""Predict a whole survey, a block of inlines at a time, into a prediction store.

Two modes:

- ``sections`` (the default): every inline section is run through the network whole,
  padded with zeros to the model's size multiple exactly as ``facies evaluate`` pads the
  sections it scores, so the predicted volume scores what evaluation reported. Sections
  whose activations exceed a memory bound (:mod:`facies.inference.sections`) are cut
  into large tapered tiles. Crossline sections (``directions=[inline,crossline]``) are
  whole-height tiles of :data:`CROSSLINE_SPAN` inlines or more (the whole crossline on a
  small survey) on one grid for the survey.
- ``windows``: windows of the training patch slide with an overlap and are blended with
  a taper (the mode of facies 0.x).

Memory is bounded by one block (plus its halo for crossline tiles), not by the survey.
Tiles sit on one grid for the whole survey and every forward pass holds the same number
of images, so a block, a process or a rerun gives exactly the probabilities that one
pass over the survey would.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from facies.data.normalization import NormStats, normalize
from facies.errors import ConfigError
from facies.inference import prediction_store as ps
from facies.inference import sections as sec
from facies.inference.reader import SurveyReader
from facies.inference.windows import window_starts
from facies.names import TRACES

log = logging.getLogger(__name__)

#: Class probabilities of one block take about this many bytes (on a GPU 8x more).
BLOCK_BYTES = 48 * 2**20
#: Prediction modes: whole sections (as evaluation) or sliding windows of the patch.
MODES = ("sections", "windows")
#: Sections mode: crossline tiles span at least this many inlines (twice the window if
#: that is more; the whole crossline when the survey has no more inlines than that).
CROSSLINE_SPAN = 128


@dataclass(frozen=True)
class PredictOptions:
    """How to run the network over sections and what to keep.

    ``window`` and ``overlap`` are those of ``windows`` mode; in ``sections`` mode the
    window's width sets the crossline tiles' span (see :data:`CROSSLINE_SPAN`).
    ``memory_bytes`` bounds the activations of one forward pass (default by device,
    :func:`facies.inference.sections.memory_bound`).
    """

    window: tuple[int, int]  # samples, traces
    overlap: float = 0.5
    directions: tuple[str, ...] = ("inline",)
    batch_size: int = 16
    probabilities: bool = False
    block_inlines: int | None = None
    mode: str = "sections"
    memory_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {list(MODES)}, not {self.mode!r}.")


@dataclass(frozen=True)
class SectionPlan:
    """Sections mode: how inline sections and crossline tiles run (fixed per survey)."""

    multiple: int
    inline_tile: tuple[int, int] | None  # None: whole sections
    inline_per_forward: int
    cross_size: tuple[int, int]  # (samples, inlines) of a crossline tile
    cross_starts: tuple[np.ndarray, np.ndarray]  # vertical, along the inline axis
    cross_per_forward: int


def plan(net, shape: tuple[int, int, int], options: PredictOptions, device) -> SectionPlan:
    """Tile sizes and sections per forward pass from the survey's shape and memory bound:
    the same for every block and process, so results do not depend on them."""
    device = torch.device(device)
    nil, nxl, ns = shape
    bound = options.memory_bytes or sec.memory_bound(device)
    m = int(getattr(net, "size_multiple", 1))
    tile, per = sec.plan_sections(net, (ns, nxl), nil, bound, options.batch_size, device)
    span = sec.padded(max(CROSSLINE_SPAN, 2 * options.window[1]), m)
    span = min(span, sec.padded(nil, m))
    ctile, cper = sec.plan_sections(net, (ns, span), nxl * nil, bound, options.batch_size, device)
    size = ctile or (sec.padded(ns, m), span)
    overlap = sec.TILE_OVERLAP
    starts = (window_starts(ns, size[0], overlap), window_starts(nil, size[1], overlap))
    return SectionPlan(m, tile, per, size, starts, cper)


def block_size(
    shape: tuple[int, int, int],
    classes: int,
    options: PredictOptions,
    device: torch.device | str = "cpu",
    section_plan: SectionPlan | None = None,
) -> int:
    """Inlines per block: a multiple of the store chunk (and of the sections per forward
    pass), sized by BLOCK_BYTES; with crossline tiles, at least half a tile's stride."""
    if options.block_inlines:
        return max(1, options.block_inlines)
    _, nxl, ns = shape
    per_inline = classes * nxl * ns * 4
    budget = BLOCK_BYTES * (8 if torch.device(device).type == "cuda" else 1)
    step = max(ps.CHUNK, budget // per_inline // ps.CHUNK * ps.CHUNK)
    if section_plan is not None:
        if "crossline" in options.directions:
            stride = section_plan.cross_size[1] * (1 - sec.TILE_OVERLAP)
            step = max(step, int(stride) // 2)
        unit = math.lcm(ps.CHUNK, section_plan.inline_per_forward)
        step = math.ceil(step / unit) * unit
    return step


def predict_survey(
    net: torch.nn.Module,
    reader: SurveyReader,
    stats: NormStats,
    class_names: list[str],
    store: Path,
    options: PredictOptions,
    inline_range: tuple[int, int] | None = None,
    device: torch.device | str = "cpu",
    resume: bool = False,
    fingerprint: dict | None = None,
) -> Path:
    """Predict inline indices ``inline_range`` (all by default) into ``store``.

    ``fingerprint`` (see :func:`prediction_store.run_fingerprint`) is recorded in a new
    store and checked against an existing one: a store made from another checkpoint,
    survey or options is refused (:class:`facies.errors.OutputError`). With ``resume``,
    blocks whose inlines are all predicted already (a finished block of this store,
    whatever its size) are skipped.
    """
    nil = reader.shape[0]
    existed = store.exists()
    ps.create_store(store, reader.coordinates(), class_names, options.probabilities, fingerprint)
    if fingerprint is not None:  # another process may have made it since: check anyway
        ps.check_fingerprint(store, fingerprint)
    first, last = inline_range or (0, nil)
    sections = net.consumes != TRACES and options.mode == "sections"
    layout = plan(net, reader.shape, options, device) if sections else None
    step = block_size(reader.shape, len(class_names), options, device, layout)
    starts = window_starts(nil, options.window[1], options.overlap)
    blocks = [(s, min(s + step, last)) for s in range(first, last, step)]
    if resume:
        covered = ps.covered_inlines(store, nil)
        todo = [(a, b) for a, b in blocks if not covered[a:b].all()]
        if not existed:
            log.warning(
                "resume=true, but %s did not exist: predicting every block. To resume a "
                "killed run, pass store=<its run folder>/prediction.zarr.",
                store,
            )
        else:
            log.info(
                "resume: skipped %d of %d block(s) already predicted in %s; %d to go",
                len(blocks) - len(todo),
                len(blocks),
                store,
                len(todo),
            )
        blocks = todo
    live = reader.live
    if layout is not None:
        log.info(
            "whole-section prediction: %s, %d per forward pass; crossline tiles %s",
            f"tiles of {layout.inline_tile}" if layout.inline_tile else "whole inline sections",
            layout.inline_per_forward,
            layout.cross_size if "crossline" in options.directions else "not asked",
        )
    # a context: the bar is closed (its last line written) before an error or an interrupt
    # reaches the command, whose one-line message is then the last line on the console
    with tqdm(total=sum(b - a for a, b in blocks), desc="predict", unit="inline") as bar:
        for start, stop in blocks:
            if layout is not None:
                probs, invalid = _section_block(
                    net, reader, stats, options, layout, start, stop, device
                )
            else:
                probs, invalid = _block(net, reader, stats, options, start, stop, starts, device)
            confidence, labels = probs.max(dim=0)  # on the device: only these come back
            labels = labels.to(torch.int16).cpu().numpy()
            confidence = confidence.cpu().numpy()
            probs = np.ascontiguousarray(probs.cpu().numpy()) if options.probabilities else None
            dead = ~live[start:stop]
            labels[dead] = ps.NO_TRACE
            confidence[dead] = 0.0
            if (
                invalid.any()
            ):  # NaN or infinite input samples: no facies there, whatever the net says
                labels[invalid] = ps.NO_TRACE
                confidence[invalid] = 0.0
                if probs is not None:
                    probs[:, invalid] = 0.0
            result = {ps.FACIES: labels, ps.CONFIDENCE: confidence}
            if options.probabilities:
                result[ps.PROBABILITY] = probs
            ps.write_block(store, start, stop, result)
            bar.update(stop - start)
    return store


def _read(
    reader: SurveyReader, stats: NormStats, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised amplitudes of inline indices lo:hi, non-finite samples set to 0 (so they
    do not spread through the network's receptive field), and where they were."""
    raw = reader.read(lo, hi)
    invalid = ~np.isfinite(raw)
    if invalid.any():
        raw = np.where(invalid, 0.0, raw).astype(np.float32)
    return normalize(raw, stats), invalid


def _halo(starts: np.ndarray, width: int, start: int, stop: int, nil: int):
    """Crossline tiles (on the survey's grid) that reach inlines start:stop, and the
    inline range lo:hi they read."""
    near = starts[(starts < stop) & (starts + width > start)]
    return near, int(near.min()), int(min(near.max() + width, nil))


def _section_block(
    net, reader, stats, options, layout: SectionPlan, start, stop, device
) -> tuple[torch.Tensor, np.ndarray]:
    """Sections mode: probabilities (classes, inlines, crosslines, samples) of inline
    indices start:stop on the device, and where the input was not finite. One copy of
    the block to the device; no Python loop per section or tile."""
    nil = reader.shape[0]
    lo, hi = start, stop
    crossline = "crossline" in options.directions
    if crossline:
        near, lo, hi = _halo(layout.cross_starts[1], layout.cross_size[1], start, stop, nil)
    data, invalid = _read(reader, stats, lo, hi)  # (inlines, crosslines, samples)
    block = torch.from_numpy(data).to(device)
    inline = block[start - lo : stop - lo].transpose(1, 2)  # (inlines, samples, crosslines)
    if layout.inline_tile is None:
        probs = sec.predict_whole(net, inline, layout.multiple, layout.inline_per_forward)
    else:
        starts = tuple(
            window_starts(n, size, sec.TILE_OVERLAP)
            for n, size in zip(inline.shape[1:], layout.inline_tile, strict=True)
        )
        probs = sec.predict_tiled(
            net, inline, layout.inline_tile, starts, layout.inline_per_forward
        )
    probs = probs.permute(1, 0, 3, 2)  # (classes, inlines, crosslines, samples)
    if crossline:
        sections = block.permute(1, 2, 0)  # (crosslines, samples, inlines lo:hi)
        starts = (layout.cross_starts[0], near - lo)
        cross = sec.predict_tiled(
            net, sections, layout.cross_size, starts, layout.cross_per_forward
        )
        cross = cross[..., start - lo : stop - lo].permute(1, 3, 0, 2)
        probs = (probs + cross) / 2
    return probs, invalid[start - lo : stop - lo]


def _block(
    net, reader, stats, options, start, stop, starts, device
) -> tuple[torch.Tensor, np.ndarray]:
    """Windows mode (and trace models): probabilities (classes, inlines, crosslines,
    samples) of inline indices start:stop, and where the input was not finite."""
    if net.consumes == TRACES:  # declared by the model (facies.models.registry)
        return _trace_block(net, reader, stats, options.batch_size * 64, start, stop, device)
    window, batch = tuple(options.window), options.batch_size
    overlap = options.overlap
    lo, hi = start, stop
    crossline = "crossline" in options.directions
    if crossline:
        near, lo, hi = _halo(starts, window[1], start, stop, reader.shape[0])
    data, invalid = _read(reader, stats, lo, hi)  # (inlines, crosslines, samples)
    block = torch.from_numpy(data).to(device)
    inline = block[start - lo : stop - lo].transpose(1, 2)  # (inlines, samples, crosslines)
    grid = (window_starts(inline.shape[1], window[0], overlap),
            window_starts(inline.shape[2], window[1], overlap))  # fmt: skip
    probs = sec.predict_tiled(net, inline, window, grid, batch).permute(1, 0, 3, 2)
    if crossline:
        sections = block.permute(1, 2, 0)  # (crosslines, samples, inlines lo:hi)
        grid = (window_starts(sections.shape[1], window[0], overlap), near - lo)
        cross = sec.predict_tiled(net, sections, window, grid, batch)
        probs = (probs + cross[..., start - lo : stop - lo].permute(1, 3, 0, 2)) / 2
    return probs, invalid[start - lo : stop - lo]


@torch.no_grad()
def _trace_block(
    net, reader, stats, batch_size, start, stop, device
) -> tuple[np.ndarray, np.ndarray]:
    """A trace model, one trace (and its neighbourhood) at a time: no windows."""
    nil, nxl, _ = reader.shape
    r = net.neighbourhood
    lo, hi = max(0, start - r), min(nil, stop + r)
    values, invalid = _read(reader, stats, lo, hi)
    data = torch.from_numpy(values)
    il, xl = np.meshgrid(np.arange(start, stop), np.arange(nxl), indexing="ij")
    il, xl = torch.as_tensor(il.ravel()), torch.as_tensor(xl.ravel())
    offsets = torch.arange(-r, r + 1)
    il_n = (il[:, None, None] + offsets[None, :, None]).clamp(lo, hi - 1) - lo
    xl_n = (xl[:, None, None] + offsets[None, None, :]).clamp(0, nxl - 1)
    device = torch.device(device)
    out = []
    for k in range(0, len(il), batch_size):
        traces = data[il_n[k : k + batch_size], xl_n[k : k + batch_size]].flatten(1, 2)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = net(traces.to(device))
        out.append(logits.float().softmax(dim=1).cpu())
    probs = torch.cat(out).reshape(stop - start, nxl, -1, data.shape[2])
    return probs.permute(2, 0, 1, 3), invalid[start - lo : stop - lo]
