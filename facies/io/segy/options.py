"""The options that say how to read a SEG-Y file, named once.

Every job that reads SEG-Y takes them under ``segy.`` (``facies info input=x.sgy
segy.iline=9``; ``conf/segy/default.yaml`` holds their defaults), and every reader takes
them as keyword arguments: :func:`~facies.io.segy.scan.scan_segy`,
:func:`~facies.io.segy.reader.open_segy`, :func:`~facies.io.store.ingest_segy`,
:class:`~facies.inference.reader.SurveyReader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from facies.errors import ConfigError

#: The keyword arguments of ``scan_segy`` that a user sets (``segy.<name>=`` in a job).
SEGY_OPTIONS = (
    "iline",
    "xline",
    "offset_byte",
    "offset",
    "endian",
    "sample_interval",
    "domain",
    "min_live_fraction",
    "zero_traces",
)
#: Where a job's config holds them.
SEGY_NODE = "segy"


def segy_options(node: Mapping[str, Any] | Any | None) -> dict[str, Any]:
    """The reading options set in ``node`` (a ``segy`` config node or a mapping), as
    keyword arguments for ``scan_segy`` and the readers built on it.

    Options missing from ``node`` (or a ``node`` of None) are left out, so the readers'
    own defaults apply. Config values are made plain Python values.
    """
    if node is None:
        return {}
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(node):
            node = OmegaConf.to_container(node, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf comes with hydra
        pass
    unknown = sorted(set(node) - set(SEGY_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown SEG-Y option(s) {', '.join(unknown)}; the options are "
            f"{', '.join(SEGY_OPTIONS)}."
        )
    return {key: node[key] for key in SEGY_OPTIONS if key in node}
