"""``facies synth``: write the built-in synthetic survey (SEG-Y + labels) to a folder."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from facies.sources.synthetic import SyntheticSurvey, SynthParams, make_synthetic_survey

log = logging.getLogger(__name__)

#: Config keys handed to :class:`facies.sources.synthetic.SynthParams`.
PARAM_KEYS = tuple(SynthParams.__dataclass_fields__)


def run(cfg: DictConfig) -> SyntheticSurvey:
    """Write the survey into ``cfg.output`` (relative to the current folder) and summarise it."""
    params = {key: cfg[key] for key in PARAM_KEYS if key in cfg}
    survey = make_synthetic_survey(
        Path(cfg.output).expanduser(),
        overwrite=bool(cfg.get("overwrite", False)),
        figure=bool(cfg.get("figure", True)),
        block_inlines=cfg.get("block_inlines"),
        **params,
    )
    print(summary(survey))
    return survey


def summary(survey: SyntheticSurvey) -> str:
    """One paragraph: where the files are, the shape, and how much of each class."""
    total = sum(survey.class_counts) or 1
    shares = ", ".join(
        f"{i} {name} {count} ({count / total:.1%})"
        for i, (name, count) in enumerate(zip(survey.class_names, survey.class_counts, strict=True))
    )
    files = ", ".join(str(path) for path in survey.paths.values())
    nil, nxl, ns = survey.shape
    return (
        f"Synthetic survey of {nil} inlines x {nxl} crosslines x {ns} samples written to "
        f"{files}. Classes (id name samples): {shares}."
    )
