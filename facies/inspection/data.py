"""The sections inspection looks at, cut from a survey held by a data module.

:func:`inspection_data` picks them: one section to show (``section=inline:N`` or
``crossline:N``), training inlines to fit the linear probes on, held-out inlines to
score them and to measure effective receptive fields on. Sections are samples x traces,
padded to the network's size multiple.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from facies.errors import ConfigError
from facies.plots import SectionAxes


@dataclass
class Sections:
    """Sections padded to the network's size multiple: images ``(N, 1, H, W)`` and label
    masks ``(N, H, W)`` with ``ignore_index`` where unlabelled or padded."""

    images: Tensor
    masks: Tensor
    names: list[str]
    valid: tuple[int, int]


@dataclass
class InspectionData:
    """What inspection looks at.

    Attributes:
        section: the section whose activations are shown (one image).
        probe_train: sections the probes are fitted on (from the training split).
        probe_test: held-out sections the probes are scored on.
        erf_sections: sections the effective receptive fields are averaged over.
        class_names: facies names.
        ignore_index: mask value of unlabelled samples.
        sample_interval: ms (or m) per sample, 0 when unknown.
        axes: line numbers and time/depth of the shown section, for its figures.
    """

    section: Sections
    probe_train: Sections
    probe_test: Sections
    erf_sections: Sections
    class_names: list[str]
    ignore_index: int
    sample_interval: float = 0.0
    axes: SectionAxes | None = None


def _pad(image: Tensor, mask: Tensor, multiple: int, ignore_index: int) -> tuple[Tensor, Tensor]:
    h, w = image.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    return F.pad(image, (0, pw, 0, ph)), F.pad(mask, (0, pw, 0, ph), value=ignore_index)


def cut_sections(
    amplitude: Tensor,
    labels: Tensor,
    direction: str,
    indices: list[int],
    multiple: int,
    ignore_index: int,
    names: list[str] | None = None,
) -> Sections:
    """Whole sections of a volume ``(inline, crossline, sample)`` as samples x traces.

    Args:
        amplitude: normalised amplitude.
        labels: class ids with ``ignore_index`` where unlabelled.
        direction: ``inline`` or ``crossline``.
        indices: positions (not header numbers) along that axis.
        multiple: pad height and width to a multiple of this.
        ignore_index: mask value for padding.
        names: titles of the sections.
    """
    if direction not in ("inline", "crossline"):
        raise ConfigError(f"section direction must be inline or crossline, not {direction!r}.")
    images, masks = [], []
    for index in indices:
        if direction == "inline":
            image, mask = amplitude[index].T, labels[index].T
        else:
            image, mask = amplitude[:, index].T, labels[:, index].T
        image, mask = _pad(image[None].float(), mask.long(), multiple, ignore_index)
        images.append(image)
        masks.append(mask)
    valid = (int(amplitude.shape[2]), int(amplitude.shape[1 if direction == "inline" else 0]))
    names = names or [f"{direction} index {i}" for i in indices]
    return Sections(torch.stack(images), torch.stack(masks), names, valid)


def parse_section(text: str | None, inlines: np.ndarray, crosslines: np.ndarray):
    """``inline:N`` or ``crossline:N`` (header numbers) -> (direction, position).

    Returns ``None`` for ``None``.

    Raises:
        ConfigError: the text is malformed or the number is not in the survey.
    """
    if text is None:
        return None
    direction, _, number = str(text).partition(":")
    axes = {"inline": inlines, "crossline": crosslines}
    if direction not in axes or not number.strip().lstrip("-").isdigit():
        raise ConfigError(
            f"section={text!r} is not understood; write section=inline:N or "
            "section=crossline:N with N an inline or crossline number of the survey."
        )
    numbers = np.asarray(axes[direction])
    where = np.nonzero(numbers == int(number))[0]
    if len(where) == 0:
        raise ConfigError(
            f"the survey has no {direction} {number}; its {direction}s run from "
            f"{numbers.min()} to {numbers.max()}."
        )
    return direction, int(where[0])


def _spread(start: int, stop: int, count: int) -> list[int]:
    """Up to ``count`` positions spread evenly over ``[start, stop)``."""
    n = min(count, stop - start)
    return sorted({int(v) for v in np.linspace(start, stop - 1, n).round()}) if n > 0 else []


def inspection_data(
    datamodule,
    section: str | None = None,
    multiple: int = 1,
    probe_sections: int = 8,
    erf_sections: int = 4,
) -> InspectionData:
    """Sections of a set-up :class:`facies.data.datamodule.SurveyDataModule`.

    The probe is fitted on inline sections spread over the training split and scored
    on sections of the test split (the validation split when there is no test split);
    the effective fields are averaged over held-out sections too. ``section`` picks
    the shown section (``inline:N`` / ``crossline:N``); by default the middle inline
    of the held-out split.
    """
    volume = datamodule.volume
    amplitude, labels = volume.amplitude.cpu(), volume.labels.cpu()
    ignore = volume.ignore_index
    survey = datamodule.survey
    inlines = np.asarray(survey["inline"].values)
    splits = datamodule.splits
    held_out = splits.get("test") or splits.get("val")
    if held_out is None:
        raise ConfigError(f"inspection needs a test or validation split; the splits are {splits}.")
    train_rows = _spread(splits["train"].start, splits["train"].stop, probe_sections)
    test_rows = _spread(held_out.start, held_out.stop, probe_sections)
    erf_rows = _spread(held_out.start, held_out.stop, erf_sections)
    chosen = parse_section(section, inlines, np.asarray(survey["crossline"].values))
    if chosen is None:
        chosen = ("inline", held_out.start + len(held_out) // 2)
    direction, position = chosen
    numbers = inlines if direction == "inline" else np.asarray(survey["crossline"].values)

    def inline_sections(rows: list[int]) -> Sections:
        names = [f"inline {inlines[r]}" for r in rows]
        return cut_sections(amplitude, labels, "inline", rows, multiple, ignore, names)

    return InspectionData(
        section=cut_sections(
            amplitude,
            labels,
            direction,
            [position],
            multiple,
            ignore,
            [f"{direction} {numbers[position]}"],
        ),
        axes=SectionAxes.of(survey, direction),
        probe_train=inline_sections(train_rows),
        probe_test=inline_sections(test_rows),
        erf_sections=inline_sections(erf_rows),
        class_names=list(datamodule.class_names),
        ignore_index=ignore,
        sample_interval=float(survey.attrs.get("sample_interval", 0.0) or 0.0),
    )
