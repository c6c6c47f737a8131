"""What prediction reads: a SEG-Y file or a survey store, a block of inlines at a time."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from facies.errors import FaciesError
from facies.io.inline_blocks import InlineBlocks
from facies.io.segy.reader import settle_live, survey_coordinates
from facies.io.segy.scan import SegyScan, scan_segy
from facies.io.store import open_survey
from facies.names import AMPLITUDE, LIVE

log = logging.getLogger(__name__)


class SurveyReader:
    """Blocks of amplitudes, the grid and its coordinates, from SEG-Y or a store.

    ``template`` is the SEG-Y file whose headers the output takes: the input itself,
    or the file a store was ingested from (None if that file is gone).

    What is live: a store's live mask, as ingest settled it; for a SEG-Y file, cells
    holding a trace not flagged dead, less the all-zero traces (unless the ``zero_traces``
    option keeps them live), which are found as blocks are read: :attr:`live` is
    updated in place by :meth:`read`. Cells that are not live read as zeros.
    """

    def __init__(self, path: str | os.PathLike, **segy_options: Any) -> None:
        self.path = Path(path)
        self.scan: SegyScan | None = None
        if self.path.is_dir():
            self.survey = open_survey(self.path)
            source = Path(self.survey.attrs.get("source", ""))
            self.template = source if source.is_file() else None
            if self.template is not None:
                try:
                    self.scan = scan_segy(self.template, **segy_options)
                except FaciesError as err:  # replaced by another file: the store's headers
                    log.info("%s: not read as the store's source (%s)", self.template, err)
                    self.template = None
            self._blocks = None
        else:
            self.scan = scan_segy(self.path, **segy_options)
            self.survey = survey_coordinates(self.scan)
            self.template = self.path
            self._blocks = InlineBlocks(self.scan)
        self._header_live = np.array(self.survey[LIVE].values, dtype=bool)
        self._live = self._header_live.copy()

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.survey.sizes[d] for d in ("inline", "crossline", "sample"))

    @property
    def live(self) -> np.ndarray:
        """(inline, crossline) live mask; for a SEG-Y file, inlines read so far are settled
        (all-zero traces found), and the array is updated as more are read."""
        return self._live

    @property
    def sample_interval(self) -> float:
        return float(self.survey.attrs.get("sample_interval", 0.0))

    def coordinates(self) -> xr.Dataset:
        """The survey without its cubes: coordinates, live mask (as known now) and attributes."""
        coords = self.survey.drop_vars([v for v in self.survey.data_vars if v != LIVE])
        return coords.assign({LIVE: (coords[LIVE].dims, self._live.copy())})

    def read(self, start: int, stop: int) -> np.ndarray:
        """Amplitudes of inline indices ``start:stop`` as float32 (inlines, crosslines, samples)."""
        if self._blocks is not None:
            block = self._blocks.read(start, stop)
            zero_dead = self.scan.zero_traces_dead
            self._live[start:stop], _ = settle_live(block, self._header_live[start:stop], zero_dead)
            return block
        return np.asarray(self.survey[AMPLITUDE][start:stop].values, dtype=np.float32)

    def sample_amplitudes(self, count: int = 2000, seed: int = 0) -> np.ndarray:
        """Amplitudes of up to ``count`` live traces spread over the survey (for statistics)."""
        nil = self.shape[0]
        rng = np.random.default_rng(seed)
        picks = np.unique(rng.integers(0, nil, size=min(nil, 16)))
        traces = []
        for il in picks:
            section = self.read(int(il), int(il) + 1)[0]
            live = self.live[il]
            traces.append(section[live][: max(1, count // len(picks))])
        return np.concatenate(traces) if traces else np.zeros((0, self.shape[2]), np.float32)
