"""Train/validation/test splits as blocks of inlines separated by gaps.

Patches of one split never reach into another: the blocks are disjoint, separated by
a gap of at least half a patch, and crossline patches are cut only inside their own
split's inline range.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from facies.errors import ConfigError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class InlineRange:
    """Inline indices ``start:stop`` (positions on the survey's inline axis)."""

    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def as_slice(self) -> slice:
        return slice(self.start, self.stop)


def make_splits(
    n_inlines: int,
    fractions: dict[str, float] | None = None,
    ranges: dict[str, list[int]] | None = None,
    gap: int = 0,
) -> dict[str, InlineRange]:
    """Cut the inline axis into train | gap | val | gap | test blocks.

    Args:
        n_inlines: length of the survey's inline axis.
        fractions: share of the inlines (after gaps) per split, e.g.
            ``{"train": 0.7, "val": 0.1, "test": 0.2}``; used when ``ranges`` is None.
        ranges: explicit ``[start, stop)`` inline indices per split (overrides fractions).
        gap: inlines left out between consecutive splits (at least half a patch).
    """
    if ranges:
        splits = {name: InlineRange(*map(int, ranges[name])) for name in SPLITS if name in ranges}
    else:
        fractions = fractions or {"train": 0.7, "val": 0.1, "test": 0.2}
        unknown = set(fractions) - set(SPLITS)
        if unknown or any(f < 0 for f in fractions.values()) or sum(fractions.values()) <= 0:
            raise ConfigError(
                f"split fractions {fractions} must be non-negative shares for {SPLITS}."
            )
        usable = n_inlines - gap * (sum(fractions.get(n, 0) > 0 for n in SPLITS) - 1)
        total = sum(fractions.values())
        splits, start = {}, 0
        for name in SPLITS:
            share = fractions.get(name, 0) / total
            if share <= 0:
                continue
            size = max(1, math.floor(usable * share))
            splits[name] = InlineRange(start, min(start + size, n_inlines))
            start = splits[name].stop + gap
    check_splits(splits, n_inlines, gap)
    return splits


def check_splits(splits: dict[str, InlineRange], n_inlines: int, gap: int) -> None:
    """Refuse empty, out-of-range, overlapping or too-close splits, with the numbers."""
    if "train" not in splits:
        raise ConfigError("the splits need a train block.")
    ordered = sorted(splits.items(), key=lambda item: item[1].start)
    for name, rng in ordered:
        if not 0 <= rng.start < rng.stop <= n_inlines:
            raise ConfigError(
                f"split {name} = inlines [{rng.start}, {rng.stop}) is empty or outside the "
                f"survey's {n_inlines} inlines; make the survey larger or the gap smaller."
            )
    for (a, ra), (b, rb) in itertools.pairwise(ordered):
        if rb.start - ra.stop < gap:
            raise ConfigError(
                f"splits {a} [{ra.start}, {ra.stop}) and {b} [{rb.start}, {rb.stop}) are "
                f"{rb.start - ra.stop} inlines apart; they must be at least {gap} apart "
                "(half a patch) so no patch spans both."
            )
