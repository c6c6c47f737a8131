"""Class probabilities for whole sections from a network trained on patches."""

from __future__ import annotations

import numpy as np
import torch

from facies.inference.windows import taper_2d, window_starts


@torch.no_grad()
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
    """Blend windowed predictions over sections ``(B, samples, traces)``.

    Windows of ``window`` slide with ``overlap``; their softmax probabilities are
    weighted by :func:`taper_2d` and normalised by the summed weights.
    ``lateral_starts`` fixes the windows' lateral positions (a part of a larger
    section, predicted exactly as the whole would be); samples no window covers get 0.

    Returns:
        float32 probabilities ``(B, num_classes, samples, traces)``.
    """
    device = torch.device(device)
    n, h, w = sections.shape
    ph, pw = window
    hp, wp = max(h, ph), max(w, pw)
    padded = np.zeros((n, hp, wp), dtype=np.float32)
    padded[:, :h, :w] = sections
    lateral = window_starts(w, pw, overlap) if lateral_starts is None else lateral_starts
    starts = [(a, b) for a in window_starts(h, ph, overlap) for b in lateral]
    source = torch.from_numpy(padded).to(device)
    weight = torch.from_numpy(taper_2d(ph, pw)).to(device)
    total = torch.zeros((n, num_classes, hp, wp), dtype=torch.float32, device=device)
    norm = torch.zeros((hp, wp), dtype=torch.float32, device=device)
    for a, b in starts:
        norm[a : a + ph, b : b + pw] += weight
    jobs = [(i, a, b) for i in range(n) for a, b in starts]
    autocast = device.type == "cuda"
    for k in range(0, len(jobs), batch_size):
        chunk = jobs[k : k + batch_size]
        batch = torch.stack([source[i, a : a + ph, b : b + pw] for i, a, b in chunk])[:, None]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = net(batch)
        probs = logits.float().softmax(dim=1) * weight
        for (i, a, b), p in zip(chunk, probs, strict=True):
            total[i, :, a : a + ph, b : b + pw] += p
    total /= norm.clamp(min=1e-12)
    return total[:, :, :h, :w].cpu().numpy()
