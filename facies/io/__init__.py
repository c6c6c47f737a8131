"""Reading and writing surveys: SEG-Y in, SEG-Y out.

The names below are imported on first use (PEP 562), so importing a light module of
this package (``facies.io.atomic``, ``facies.io.fingerprint``) does not load xarray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facies.io.segy.reader import open_segy
    from facies.io.segy.scan import SegyScan, scan_segy
    from facies.io.segy.writer import write_segy_like

#: Public name -> module that defines it.
_EXPORTS = {
    "open_segy": "facies.io.segy.reader",
    "SegyScan": "facies.io.segy.scan",
    "scan_segy": "facies.io.segy.scan",
    "write_segy_like": "facies.io.segy.writer",
}

__all__ = ["SegyScan", "open_segy", "scan_segy", "write_segy_like"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
