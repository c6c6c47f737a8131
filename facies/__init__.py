"""facies: seismic facies segmentation from SEG-Y to SEG-Y.

``facies.predict_dataset(survey, checkpoint)`` predicts an ``xarray`` survey in memory
(:func:`facies.inference.dataset.predict_dataset`); it is imported on first use (PEP 562),
so ``import facies`` stays light.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("facies")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: Public name -> module that defines it (imported on first use: the package root stays
#: light, and points down to no stage).
_EXPORTS = {"predict_dataset": "facies.inference.dataset"}

__all__ = ["__version__", "predict_dataset"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
