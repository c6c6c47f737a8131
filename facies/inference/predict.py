"""Predict a whole survey, a block of inlines at a time, into a prediction store.

Memory is bounded by one block (plus its halo for crossline windows), not by the
survey. Inline sections are predicted whole; crossline windows sit on one grid along
the inline axis for the whole survey, so a block, a process or a rerun gives exactly
the probabilities that one pass over the survey would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from facies.data.normalization import NormStats, normalize
from facies.inference import prediction_store as ps
from facies.inference.reader import SurveyReader
from facies.inference.sections import predict_sections
from facies.inference.windows import window_starts
from facies.names import TRACES

log = logging.getLogger(__name__)

#: Class probabilities of one block take about this many bytes.
BLOCK_BYTES = 48 * 2**20


@dataclass(frozen=True)
class PredictOptions:
    """How to slide windows and what to keep."""

    window: tuple[int, int]  # samples, traces
    overlap: float = 0.5
    directions: tuple[str, ...] = ("inline",)
    batch_size: int = 16
    probabilities: bool = False
    block_inlines: int | None = None


def block_size(shape: tuple[int, int, int], classes: int, options: PredictOptions) -> int:
    """Inlines per block: a multiple of the store chunk, sized by BLOCK_BYTES."""
    if options.block_inlines:
        return max(1, options.block_inlines)
    _, nxl, ns = shape
    per_inline = classes * nxl * ns * 4
    return max(ps.CHUNK, BLOCK_BYTES // per_inline // ps.CHUNK * ps.CHUNK)


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
    step = block_size(reader.shape, len(class_names), options)
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
    for start, stop in tqdm(blocks, desc="predict", unit="block"):
        probs, invalid = _block(
            net, reader, stats, len(class_names), options, start, stop, starts, device
        )
        labels = probs.argmax(axis=0).astype(np.int16)
        confidence = probs.max(axis=0)
        dead = ~live[start:stop]
        labels[dead] = ps.NO_TRACE
        confidence[dead] = 0.0
        if invalid.any():  # NaN or infinite input samples: no facies there, whatever the net says
            labels[invalid] = ps.NO_TRACE
            confidence[invalid] = 0.0
            probs[:, invalid] = 0.0
        result = {ps.FACIES: labels, ps.CONFIDENCE: confidence}
        if options.probabilities:
            result[ps.PROBABILITY] = probs
        ps.write_block(store, start, stop, result)
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


def _block(
    net, reader, stats, classes, options, start, stop, starts, device
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (classes, inlines, crosslines, samples) of inline indices start:stop,
    and where the input was not finite (inlines, crosslines, samples)."""
    if net.consumes == TRACES:  # declared by the model (facies.models.registry)
        return _trace_block(net, reader, stats, options.batch_size * 64, start, stop, device)
    window, kw = options.window, dict(batch_size=options.batch_size, device=device)
    lo, hi = start, stop
    if "crossline" in options.directions:
        near = starts[(starts < stop) & (starts + window[1] > start)]
        lo, hi = int(near.min()), int(min(near.max() + window[1], reader.shape[0]))
    data, invalid = _read(reader, stats, lo, hi)  # (inlines, crosslines, samples)
    inner = data[start - lo : stop - lo]
    probs = predict_sections(net, inner.transpose(0, 2, 1), window, options.overlap, classes, **kw)
    probs = probs.transpose(1, 0, 3, 2)  # (classes, inlines, crosslines, samples)
    if "crossline" in options.directions:
        sections = data.transpose(1, 2, 0)  # (crosslines, samples, inlines lo:hi)
        local = near - lo
        cross = predict_sections(
            net, sections, window, options.overlap, classes, lateral_starts=local, **kw
        )
        cross = cross[..., start - lo : stop - lo].transpose(1, 3, 0, 2)
        probs = (probs + cross) / 2
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
    return probs.permute(2, 0, 1, 3).numpy(), invalid[start - lo : stop - lo]
