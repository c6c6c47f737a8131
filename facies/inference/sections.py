"""Class probabilities for sections: whole, as evaluation sees them, or in tapered tiles.

Whole sections are padded with zeros after their last sample and last trace up to the
model's size multiple, exactly as :meth:`facies.data.volume.Volume.cut` pads the
sections that ``facies evaluate`` scores, and run through the network as they are.
A section whose activations would exceed the memory bound (see
:func:`activation_bytes_per_pixel`) is cut into large tapered tiles instead.

Every forward pass holds the same number of sections or tiles (a short last batch is
padded with zero images): a sample's result then does not depend on which block,
process or batch it came with, which keeps predictions exact across blocks and
processes. Whole sections are reduced to facies and confidence on the device, pass by
pass (:func:`classify_whole`); tiles are gathered and blended with tensor indexing,
never a Python loop per window.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from facies.inference.windows import taper_2d, window_starts

BYTES_PER_FLOAT = 4
#: Activations of one forward pass may take this many bytes on a CPU ...
CPU_MEMORY_BOUND = 2**30
#: ... and this share of the GPU's memory.
GPU_MEMORY_SHARE = 0.25
#: On a CPU, small sections are batched up to this many pixels per forward pass (larger
#: batches are no faster there: the convolutions already use every core).
CPU_PIXELS_PER_FORWARD = 2**16
#: Overlap of the large tiles a section is cut into when it exceeds the memory bound.
TILE_OVERLAP = 0.25
#: Inference precisions: float32 (the default: as evaluation runs the network) or
#: bfloat16 autocast (a GPU option; facies may then differ from evaluation's).
FLOAT32, BFLOAT16 = "float32", "bfloat16"
PRECISIONS = (FLOAT32, BFLOAT16)


def activation_bytes_per_pixel(net: torch.nn.Module) -> float:
    """Bytes of activations per input pixel in one inference pass, from the network's widths.

    A U-Net keeps each encoder stage's features for its skip connection (``c_i`` maps at
    ``1 / 4**i`` of the pixels), and at full resolution the decoder holds about six maps of
    the first width at once (skip, upsampled, their concatenation, convolution and norm
    outputs), plus logits and probabilities. Networks without ``encoder.channels`` are
    taken as 64 maps wide.
    """
    widths = list(getattr(getattr(net, "encoder", None), "channels", None) or [64])
    classes = int(getattr(net, "num_classes", 8))
    skips = sum(c / 4**i for i, c in enumerate(widths))
    return BYTES_PER_FLOAT * (skips + 6 * widths[0] + 3 * classes)


def memory_bound(device: torch.device) -> int:
    """Bytes the activations of one forward pass may take on ``device``."""
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
        return int(total * GPU_MEMORY_SHARE)
    return CPU_MEMORY_BOUND


def padded(length: int, multiple: int) -> int:
    return math.ceil(length / multiple) * multiple


def plan_sections(
    net: torch.nn.Module,
    shape: tuple[int, int],
    count: int,
    bound: int,
    batch_size: int,
    device: torch.device,
) -> tuple[tuple[int, int] | None, int]:
    """How to run sections of ``shape`` (samples, traces): ``(tile, per_forward)``.

    ``tile`` is None for whole sections (padded to the size multiple), else the tile size
    (multiples of the size multiple) of a section too large for ``bound``. ``per_forward``
    is the fixed number of sections (or tiles) per forward pass, at most ``batch_size``
    and ``count`` (the sections there are in all, so few are never padded to many).
    """
    m = int(getattr(net, "size_multiple", 1))
    per_pixel = activation_bytes_per_pixel(net)
    height, width = padded(shape[0], m), padded(shape[1], m)
    pixels = max(m * m, int(bound // per_pixel))
    tile = None
    if height * width > pixels:
        th = min(height, max(m, math.isqrt(pixels) // m * m))
        tw = min(width, max(m, pixels // th // m * m))
        tile, height, width = (th, tw), th, tw
    fit = max(1, pixels // (height * width))
    if device.type != "cuda":
        fit = min(fit, max(1, CPU_PIXELS_PER_FORWARD // (height * width)))
    return tile, max(1, min(fit, batch_size, count))


def logits_of(net: torch.nn.Module, images: torch.Tensor, precision: str = FLOAT32) -> torch.Tensor:
    """The network's float32 logits of ``images``: in float32 (as evaluation runs it) unless
    ``precision`` is ``bfloat16`` (autocast, a GPU option, off by default)."""
    if precision == FLOAT32:
        return net(images)
    with torch.autocast(images.device.type, dtype=torch.bfloat16):
        return net(images).float()


def _forward(
    net: torch.nn.Module, images: torch.Tensor, per_forward: int, precision: str = FLOAT32
) -> torch.Tensor:
    """Softmax probabilities of ``images`` (n, 1, H, W), ``per_forward`` at a time (the last
    batch padded with zero images to the same size)."""
    short = per_forward - len(images)
    if short > 0:
        images = torch.cat([images, images.new_zeros((short, *images.shape[1:]))])
    probs = logits_of(net, images, precision).softmax(dim=1)
    return probs[: len(probs) - max(short, 0)]


@torch.no_grad()
def classify_whole(
    net: torch.nn.Module,
    sections: torch.Tensor,
    multiple: int,
    per_forward: int,
    probabilities: bool = False,
    precision: str = FLOAT32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Facies, confidence and (on request) probabilities of whole sections ``(n, samples,
    traces)``, each padded with zeros after its last sample and trace to ``multiple`` as
    evaluation pads them, ``per_forward`` sections per forward pass.

    Facies are the argmax of the logits (as :mod:`facies.training.evaluation` takes them),
    confidence the softmax probability of that class. The results are reduced per forward
    pass on the sections' device and laid out as the prediction store holds them: no
    probabilities of the whole block unless asked, one image buffer for every pass, no
    host synchronisation.

    Returns:
        ``facies`` int16 ``(n, traces, samples)``, ``confidence`` float32 of the same
        shape, and float32 ``probabilities`` ``(classes, n, traces, samples)`` or None.
    """
    n, h, w = sections.shape
    device = sections.device
    images = sections.new_zeros((per_forward, 1, padded(h, multiple), padded(w, multiple)))
    facies = torch.empty((n, w, h), dtype=torch.int16, device=device)
    confidence = torch.empty((n, w, h), dtype=torch.float32, device=device)
    probs = None
    for k in range(0, n, per_forward):
        count = min(per_forward, n - k)
        images[:count, 0, :h, :w] = sections[k : k + count]
        if count < per_forward:  # the same batch size every pass: zero images after
            images[count:].zero_()
        logits = logits_of(net, images, precision)[:count, :, :h, :w]
        p = logits.softmax(dim=1)
        # max's indices are argmax's (the first of equal maxima), and on a CPU 5x faster
        facies[k : k + count] = logits.max(dim=1).indices.transpose(1, 2)
        confidence[k : k + count] = p.amax(dim=1).transpose(1, 2)
        if probabilities:
            if probs is None:
                probs = torch.empty((p.shape[1], n, w, h), dtype=torch.float32, device=device)
            probs[:, k : k + count] = p.permute(1, 0, 3, 2)
    return facies, confidence, probs


@torch.no_grad()
def predict_tiled(
    net: torch.nn.Module,
    sections: torch.Tensor,
    size: tuple[int, int],
    starts: tuple[np.ndarray, np.ndarray],
    per_forward: int,
    precision: str = FLOAT32,
) -> torch.Tensor:
    """Blend tiles of ``size`` at ``starts`` (vertical, lateral) over sections ``(n, h, w)``.

    Each tile's softmax probabilities are weighted by :func:`taper_2d` and the sum divided
    by the summed weights; samples no tile covers get 0. Tiles are cut with one gather per
    forward pass and added back with one ``index_add_``.

    Returns:
        float32 probabilities ``(n, classes, h, w)`` on the sections' device.
    """
    device = sections.device
    n, h, w = sections.shape
    ph, pw = size
    top, left = (np.asarray(s, dtype=np.int64) for s in starts)
    hp = max(h, ph, int(top.max()) + ph)  # from the host's copy: no device sync
    wp = max(w, pw, int(left.max()) + pw)
    rows0 = torch.as_tensor(top, device=device)
    cols0 = torch.as_tensor(left, device=device)
    source = F.pad(sections, (0, wp - w, 0, hp - h))
    dy = torch.arange(ph, device=device)[None, :, None]
    dx = torch.arange(pw, device=device)[None, None, :]
    tops = rows0.repeat_interleave(len(cols0))  # every (vertical, lateral) tile
    lefts = cols0.repeat(len(rows0))
    weight = torch.from_numpy(taper_2d(ph, pw)).to(device)
    tiles = len(tops)
    norm = torch.zeros(hp * wp, dtype=torch.float32, device=device)
    at = (tops[:, None, None] + dy) * wp + lefts[:, None, None] + dx
    norm.index_add_(0, at.flatten(), weight.expand(tiles, ph, pw).flatten())
    section = torch.arange(n, device=device).repeat_interleave(tiles)
    tile = torch.arange(tiles, device=device).repeat(n)
    total = None
    for k in range(0, len(section), per_forward):
        i, t = section[k : k + per_forward, None, None], tile[k : k + per_forward]
        rows, cols = tops[t][:, None, None] + dy, lefts[t][:, None, None] + dx
        images = source[i, rows, cols][:, None]
        probs = _forward(net, images, per_forward, precision) * weight
        classes = probs.shape[1]
        if total is None:
            total = torch.zeros((n * hp * wp, classes), dtype=torch.float32, device=device)
        at = (i * hp + rows) * wp + cols
        total.index_add_(0, at.flatten(), probs.permute(0, 2, 3, 1).reshape(-1, classes))
    total = total.view(n, hp, wp, -1) / norm.view(hp, wp, 1).clamp(min=1e-12)
    return total[:, :h, :w].permute(0, 3, 1, 2)


def predict_sections(
    net: torch.nn.Module,
    sections: np.ndarray,
    window: tuple[int, int],
    overlap: float,
    num_classes: int,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    lateral_starts: np.ndarray | None = None,
) -> np.ndarray:
    """Blend windowed predictions over sections ``(B, samples, traces)`` (window mode).

    Windows of ``window`` slide with ``overlap``; their softmax probabilities are
    weighted by :func:`taper_2d` and normalised by the summed weights.
    ``lateral_starts`` fixes the windows' lateral positions (a part of a larger
    section, predicted exactly as the whole would be); samples no window covers get 0.

    Returns:
        float32 probabilities ``(B, num_classes, samples, traces)`` (``num_classes`` is
        the network's: kept for callers).
    """
    device = torch.device(device)
    _, h, w = sections.shape
    lateral = window_starts(w, window[1], overlap) if lateral_starts is None else lateral_starts
    starts = (window_starts(h, window[0], overlap), lateral)
    source = torch.from_numpy(np.ascontiguousarray(sections, dtype=np.float32)).to(device)
    return predict_tiled(net, source, window, starts, batch_size).cpu().numpy()
