"""Reading and writing surveys: SEG-Y in, SEG-Y out."""

from __future__ import annotations

from facies.io.segy.reader import open_segy
from facies.io.segy.scan import SegyScan, scan_segy
from facies.io.segy.writer import write_segy_like

__all__ = ["SegyScan", "open_segy", "scan_segy", "write_segy_like"]
