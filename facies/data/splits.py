"""Train/validation/test splits as blocks of inlines: train | gap | val | test.

What can leak from training into a held-out block, and why one gap is enough:

- Training patches are cut only inside the training inline range: inline patches lie on
  training inlines, crossline patches span only training inlines (:mod:`facies.data.tiling`
  shrinks their lateral size to fit the block). Held-out blocks are scored on whole
  sections of their own inlines (crossline sections span only the block's inlines). So
  no training sample ever appears in a held-out section, whatever the gap.
- What remains is geology: neighbouring inlines look alike (lateral correlation), so a
  held-out inline right next to a training inline is an easier test than one far away.
  A gap of a few inlines between the training block and the held-out blocks takes away
  the nearest, most correlated neighbours. Validation and test are both held out: no
  gap is needed between them, so they are adjacent, and the test block lies farthest
  from the training block (its score is the more conservative one).

The default gap (``data.splits.gap: auto``, :func:`auto_gap`) is
``ceil(sqrt(n_inlines) / 2)`` inlines, at most half a patch width (``data.patch[1] / 2``,
which was the old, fixed gap): it grows slowly with the survey, so most labelled inlines
train: 16 inlines -> gap 2, 36 -> 3, 96 -> 5, 128 -> 6, 400 -> 10, 1000 -> 16. An integer
``data.splits.gap=N`` sets it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from facies.errors import ConfigError

SPLITS = ("train", "val", "test")
#: Held-out blocks: a gap separates each from the training block, none between them.
HELD_OUT = ("val", "test")
DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


@dataclass(frozen=True)
class InlineRange:
    """Inline indices ``start:stop`` (positions on the survey's inline axis)."""

    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def as_slice(self) -> slice:
        return slice(self.start, self.stop)


def auto_gap(n_inlines: int, patch_width: int | None = None) -> int:
    """The default gap between the training block and the held-out blocks, in inlines:
    ``ceil(sqrt(n_inlines) / 2)``, at most half a patch width (see the module doc)."""
    gap = math.ceil(math.sqrt(max(n_inlines, 0)) / 2)
    if patch_width is not None:
        gap = min(gap, math.ceil(patch_width / 2))
    return max(gap, 0)


def resolve_gap(gap: int | str | None, n_inlines: int, patch_width: int | None = None) -> int:
    """``gap`` (``data.splits.gap``): ``auto``/None for :func:`auto_gap`, or an integer >= 0."""
    if gap is None or gap == "auto":
        return auto_gap(n_inlines, patch_width)
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
        raise ConfigError(
            f"data.splits.gap={gap!r}: must be auto or an integer >= 0, e.g. data.splits.gap=4."
        )
    return gap


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def make_splits(
    n_inlines: int,
    fractions: dict[str, float] | None = None,
    ranges: dict[str, list[int]] | None = None,
    gap: int = 0,
    patch_width: int | None = None,
) -> dict[str, InlineRange]:
    """Cut the inline axis into train | gap | val | test blocks.

    The held-out blocks get their share of the inlines left after the gap, rounded, at
    least one inline each; the training block gets the rest, so no inline is lost to
    rounding (36 inlines, gap 3, 0.7/0.1/0.2: train 23, gap 3, val 3, test 7).

    Args:
        n_inlines: length of the survey's inline axis.
        fractions: share of the inlines (after the gap) per split, e.g.
            ``{"train": 0.7, "val": 0.1, "test": 0.2}``; used when ``ranges`` is None.
        ranges: explicit ``[start, stop)`` inline indices per split (overrides fractions).
        gap: inlines left out between the training block and the held-out blocks.
        patch_width: the training patch's width in traces, only to say it in errors.
    """
    if ranges:
        splits = {name: InlineRange(*map(int, ranges[name])) for name in SPLITS if name in ranges}
    else:
        fractions = DEFAULT_FRACTIONS if fractions is None else dict(fractions)
        unknown = set(fractions) - set(SPLITS)
        if unknown or any(f < 0 for f in fractions.values()) or sum(fractions.values()) <= 0:
            raise ConfigError(
                f"split fractions {fractions} must be non-negative shares for {SPLITS}."
            )
        if not fractions.get("train"):
            raise ConfigError("the splits need a train block: data.splits.fractions.train > 0.")
        held = [name for name in HELD_OUT if fractions.get(name, 0) > 0]
        usable = n_inlines - (gap if held else 0)
        total = sum(fractions.values())
        sizes = {name: max(1, _round(usable * fractions[name] / total)) for name in held}
        train = usable - sum(sizes.values())
        if train < 1:
            _impossible(n_inlines, gap, held, sizes, patch_width)
        splits = {"train": InlineRange(0, train)}
        start = train + (gap if held else 0)
        for name in held:
            splits[name] = InlineRange(start, start + sizes[name])
            start += sizes[name]
    check_splits(splits, n_inlines, gap, patch_width)
    return splits


def _impossible(
    n_inlines: int, gap: int, held: list[str], sizes: dict[str, int], patch_width: int | None
) -> None:
    need = 1 + gap + sum(sizes.values())
    patch = f" (data.patch width {patch_width})" if patch_width is not None else ""
    fix = f"data.splits.gap={max(0, gap - (need - n_inlines))}" if gap else ""
    raise ConfigError(
        f"a survey of {n_inlines} inlines cannot be split into train | gap | "
        f"{' | '.join(held)}: the gap of {gap} inlines{patch} and the held-out blocks "
        f"({', '.join(f'{k} {v}' for k, v in sizes.items())}) leave no training inline "
        f"(at least {need} inlines are needed); "
        + (f"set {fix} (a smaller gap), " if fix else "")
        + "lower data.splits.fractions.val/test, or give data.splits.ranges explicitly."
    )


def check_splits(
    splits: dict[str, InlineRange], n_inlines: int, gap: int, patch_width: int | None = None
) -> None:
    """Refuse empty, out-of-range or overlapping splits, and held-out blocks closer than
    ``gap`` inlines to the training block, with the numbers and the setting to change."""
    if "train" not in splits:
        raise ConfigError("the splits need a train block.")
    ordered = sorted(splits.items(), key=lambda item: item[1].start)
    for name, rng in ordered:
        if not 0 <= rng.start < rng.stop <= n_inlines:
            raise ConfigError(
                f"split {name} = inlines [{rng.start}, {rng.stop}) is empty or outside the "
                f"survey's {n_inlines} inlines; set data.splits.ranges inside [0, {n_inlines}) "
                "(or leave them null for the default layout)."
            )
    for (a, ra), (b, rb) in itertools.pairwise(ordered):
        apart = rb.start - ra.stop
        needed = gap if "train" in (a, b) else 0
        if apart < needed:
            why = (
                f"at least {gap} apart (data.splits.gap"
                + (f"; data.patch width {patch_width}" if patch_width is not None else "")
                + ") so neighbouring inlines of the training block are not held out"
                if needed
                else "disjoint"
            )
            fix = "move them apart in data.splits.ranges" + (
                f" or set data.splits.gap={max(apart, 0)}" if needed and apart >= 0 else ""
            )
            raise ConfigError(
                f"splits {a} [{ra.start}, {ra.stop}) and {b} [{rb.start}, {rb.stop}) are "
                f"{apart} inlines apart in a survey of {n_inlines} inlines; they must be "
                f"{why}; {fix}."
            )
