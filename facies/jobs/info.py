"""``facies info input=survey.sgy``: what a geoscientist checks first."""

from __future__ import annotations

import json

from omegaconf import DictConfig

from facies.errors import ConfigError
from facies.io.segy.options import segy_options
from facies.io.segy.scan import scan_segy
from facies.io.segy.summary import format_summary, summarize


def run(cfg: DictConfig) -> dict:
    """Print the summary of ``cfg.input`` (and its JSON with ``json=true``)."""
    if not cfg.get("input"):
        raise ConfigError("facies info needs a file: facies info input=survey.sgy")
    scan = scan_segy(cfg.input, **segy_options(cfg.segy))
    summary = summarize(scan)
    if cfg.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary, scan.text if cfg.text else None))
    return summary
