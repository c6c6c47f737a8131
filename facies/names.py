"""Names of dimensions, variables and attributes of a survey, defined once.

Import these instead of spelling the strings; a survey is an ``xarray.Dataset``
with dims ``(INLINE, CROSSLINE, SAMPLE)``.
"""

from __future__ import annotations

INLINE = "inline"
CROSSLINE = "crossline"
SAMPLE = "sample"
DIMS = (INLINE, CROSSLINE, SAMPLE)

AMPLITUDE = "amplitude"
LABELS = "labels"
LIVE = "live"
CDP_X = "cdp_x"
CDP_Y = "cdp_y"

# Name of the physical coordinate that rides along the sample axis.
TWT = "twt"
DEPTH = "depth"
DOMAINS = (TWT, DEPTH)

#: Value stored in ``amplitude`` where a trace is missing (``live`` is False).
DEAD_TRACE_FILL = 0.0

# What a model consumes (declared by each model, see facies.models.registry.ModelInput).
SECTIONS = "sections"
TRACES = "traces"

#: Label value the loss and the metrics ignore (PyTorch's cross-entropy default).
IGNORE_INDEX = -100
