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

import functools
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
from facies.inference.block_io import BlockIO
from facies.inference.malloc import keep_freed_memory
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
    :func:`facies.inference.sections.memory_bound`). ``precision``: ``float32`` (the
    default, as evaluation runs the network) or ``bfloat16`` autocast on a GPU.
    ``overlap_io``: read the next block and write the last one while the network runs
    (:mod:`facies.inference.block_io`); None: on a GPU only.
    """

    window: tuple[int, int]  # samples, traces
    overlap: float = 0.5
    directions: tuple[str, ...] = ("inline",)
    batch_size: int = 16
    probabilities: bool = False
    block_inlines: int | None = None
    mode: str = "sections"
    memory_bytes: int | None = None
    precision: str = sec.FLOAT32
    overlap_io: bool | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {list(MODES)}, not {self.mode!r}.")
        if self.precision not in sec.PRECISIONS:
            raise ConfigError(
                f"precision must be one of {list(sec.PRECISIONS)}, not {self.precision!r}; "
                f"{sec.FLOAT32} (the default) predicts as evaluation scores."
            )


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
    device = torch.device(device)
    if options.precision != sec.FLOAT32 and device.type != "cuda":
        raise ConfigError(
            f"precision={options.precision} is a GPU option; on {device.type} leave it at "
            f"{sec.FLOAT32}."
        )
    if device.type == "cpu":
        keep_freed_memory()
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
    if layout is not None:
        log.info(
            "whole-section prediction: %s, %d per forward pass; crossline tiles %s",
            f"tiles of {layout.inline_tile}" if layout.inline_tile else "whole inline sections",
            layout.inline_per_forward,
            layout.cross_size if "crossline" in options.directions else "not asked",
        )
    overlap = device.type == "cuda" if options.overlap_io is None else options.overlap_io
    extent = _Extent(net, reader.shape[0], options, layout, starts)
    load = functools.partial(_load, reader, stats, pin=device.type == "cuda")
    # a context: the bar is closed (its last line written) before an error or an interrupt
    # reaches the command, whose one-line message is then the last line on the console
    with (
        tqdm(total=sum(b - a for a, b in blocks), desc="predict", unit="inline") as bar,
        BlockIO(load, _store_block, overlap) as io,
    ):
        for (start, stop), (data, invalid) in zip(
            blocks, io.loaded([extent(a, b) for a, b in blocks]), strict=True
        ):
            lo, _ = extent(start, stop)
            data = data.to(device, non_blocking=True)
            if layout is not None:
                result = _section_block(net, data, lo, options, layout, start, stop)
            else:
                result = _block(net, data, lo, options, start, stop, starts)
            dead = ~reader.live[start:stop]  # settled by the read of this block
            io.write(store, start, stop, _to_host(result), dead, invalid[start - lo : stop - lo])
            bar.update(stop - start)
    return store


class _Extent:
    """The inline indices ``lo:hi`` a block ``start:stop`` reads: with their neighbours for
    crossline tiles (the tiles' halo) and trace models (their neighbourhood)."""

    def __init__(self, net, nil: int, options: PredictOptions, layout, starts) -> None:
        self.nil, self.options, self.layout, self.starts = nil, options, layout, starts
        self.radius = net.neighbourhood if net.consumes == TRACES else None

    def __call__(self, start: int, stop: int) -> tuple[int, int]:
        if self.radius is not None:
            return max(0, start - self.radius), min(self.nil, stop + self.radius)
        if "crossline" not in self.options.directions:
            return start, stop
        if self.layout is not None:
            starts, width = self.layout.cross_starts[1], self.layout.cross_size[1]
        else:
            starts, width = self.starts, self.options.window[1]
        near = _near(starts, width, start, stop)
        return int(near.min()), int(min(near.max() + width, self.nil))


def _load(reader, stats: NormStats, lo: int, hi: int, pin: bool) -> tuple[torch.Tensor, np.ndarray]:
    """Normalised amplitudes of inline indices lo:hi as a host tensor (pinned for a copy to
    the GPU that does not wait), and where they were not finite."""
    data, invalid = _read(reader, stats, lo, hi)
    block = torch.from_numpy(data)
    return (block.pin_memory() if pin else block), invalid


def _to_host(result: tuple) -> tuple:
    """Facies, confidence and probabilities (or None) on the host, and, from a GPU, the
    event their copies complete at: the copies are queued, and nothing waits here."""
    facies, confidence, probs = result
    if facies.device.type != "cuda":
        return facies.contiguous(), confidence.contiguous(), probs, None
    host = tuple(None if t is None else _pinned_copy(t) for t in result)
    done = torch.cuda.Event()
    done.record()
    return (*host, done)


def _pinned_copy(tensor: torch.Tensor) -> torch.Tensor:
    pinned = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    return pinned.copy_(tensor, non_blocking=True)


def _store_block(store: Path, start: int, stop: int, result: tuple, dead, invalid) -> None:
    """Write a block's results, with no facies where no trace is live or the input was not
    finite (whatever the network says there)."""
    facies, confidence, probs, done = result
    if done is not None:
        done.synchronize()
    labels, confidence = facies.numpy(), confidence.numpy()
    labels[dead] = ps.NO_TRACE
    confidence[dead] = 0.0
    out = {ps.FACIES: labels, ps.CONFIDENCE: confidence}
    if probs is not None:
        out[ps.PROBABILITY] = probs = np.ascontiguousarray(probs.numpy())
    if invalid.any():  # NaN or infinite input samples
        labels[invalid] = ps.NO_TRACE
        confidence[invalid] = 0.0
        if probs is not None:
            probs[:, invalid] = 0.0
    ps.write_block(store, start, stop, out)


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


def _near(starts: np.ndarray, width: int, start: int, stop: int) -> np.ndarray:
    """Crossline tiles (their starts on the survey's grid) that reach inlines start:stop."""
    return starts[(starts < stop) & (starts + width > start)]


def _section_block(
    net, block: torch.Tensor, lo: int, options, layout: SectionPlan, start: int, stop: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Sections mode: facies (int16), confidence and (on request) probabilities of inline
    indices start:stop, on the block's device, from ``block``: normalised inlines
    ``lo:hi`` (inlines, crosslines, samples). No Python loop per section or tile."""
    inline = block[start - lo : stop - lo].transpose(1, 2)  # (inlines, samples, crosslines)
    crossline = "crossline" in options.directions
    if layout.inline_tile is None:
        keep = options.probabilities or crossline
        facies, confidence, probs = sec.classify_whole(
            net, inline, layout.multiple, layout.inline_per_forward, keep, options.precision
        )
        if not crossline:
            return facies, confidence, probs
    else:
        starts = tuple(
            window_starts(n, size, sec.TILE_OVERLAP)
            for n, size in zip(inline.shape[1:], layout.inline_tile, strict=True)
        )
        probs = sec.predict_tiled(
            net, inline, layout.inline_tile, starts, layout.inline_per_forward, options.precision
        ).permute(1, 0, 3, 2)  # (classes, inlines, crosslines, samples)
    if crossline:
        near = _near(layout.cross_starts[1], layout.cross_size[1], start, stop)
        sections = block.permute(1, 2, 0)  # (crosslines, samples, inlines lo:hi)
        starts = (layout.cross_starts[0], near - lo)
        cross = sec.predict_tiled(
            net, sections, layout.cross_size, starts, layout.cross_per_forward, options.precision
        )
        probs = (probs + cross[..., start - lo : stop - lo].permute(1, 3, 0, 2)) / 2
    return _reduce(probs, options.probabilities)


def _reduce(probs: torch.Tensor, keep: bool) -> tuple:
    """Facies (int16), confidence and (if ``keep``) the probabilities (classes, ...)."""
    confidence, facies = probs.max(dim=0)
    return facies.to(torch.int16), confidence, probs if keep else None


def _block(
    net, block: torch.Tensor, lo: int, options, start, stop, starts
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Windows mode (and trace models): facies, confidence and (on request) probabilities
    of inline indices start:stop from ``block`` (normalised inlines from ``lo``)."""
    if net.consumes == TRACES:  # declared by the model (facies.models.registry)
        probs = _trace_block(net, block, lo, options, start, stop)
        return _reduce(probs, options.probabilities)
    window, batch = tuple(options.window), options.batch_size
    overlap, precision = options.overlap, options.precision
    inline = block[start - lo : stop - lo].transpose(1, 2)  # (inlines, samples, crosslines)
    grid = (window_starts(inline.shape[1], window[0], overlap),
            window_starts(inline.shape[2], window[1], overlap))  # fmt: skip
    probs = sec.predict_tiled(net, inline, window, grid, batch, precision).permute(1, 0, 3, 2)
    if "crossline" in options.directions:
        near = _near(starts, window[1], start, stop)
        sections = block.permute(1, 2, 0)  # (crosslines, samples, inlines lo:hi)
        grid = (window_starts(sections.shape[1], window[0], overlap), near - lo)
        cross = sec.predict_tiled(net, sections, window, grid, batch, precision)
        probs = (probs + cross[..., start - lo : stop - lo].permute(1, 3, 0, 2)) / 2
    return _reduce(probs, options.probabilities)


@torch.no_grad()
def _trace_block(net, data: torch.Tensor, lo: int, options, start, stop) -> torch.Tensor:
    """A trace model, one trace (and its neighbourhood) at a time, no windows:
    probabilities (classes, inlines, crosslines, samples) of inlines start:stop from
    ``data``, normalised inlines lo:hi, on its device."""
    hi, nxl, ns = lo + data.shape[0], data.shape[1], data.shape[2]
    r, batch_size, device = net.neighbourhood, options.batch_size * 64, data.device
    il = torch.arange(start, stop, device=device).repeat_interleave(nxl)
    xl = torch.arange(nxl, device=device).repeat(stop - start)
    offsets = torch.arange(-r, r + 1, device=device)
    il_n = (il[:, None, None] + offsets[None, :, None]).clamp(lo, hi - 1) - lo
    xl_n = (xl[:, None, None] + offsets[None, None, :]).clamp(0, nxl - 1)
    out = []
    for k in range(0, len(il), batch_size):
        traces = data[il_n[k : k + batch_size], xl_n[k : k + batch_size]].flatten(1, 2)
        out.append(sec.logits_of(net, traces, options.precision).softmax(dim=1))
    probs = torch.cat(out).reshape(stop - start, nxl, -1, ns)
    return probs.permute(2, 0, 1, 3)
