"""The one exception family of facies.

Every error a user can cause derives from :class:`FaciesError`. Messages say what
is wrong, with the values found, and how to fix it.
"""

from __future__ import annotations


class FaciesError(Exception):
    """Base class of every error that bad input, config or data can cause."""


class SegyFormatError(FaciesError):
    """The file is not SEG-Y we can read: headers, size, sample format."""


class GeometryError(FaciesError):
    """Inline/crossline geometry cannot be built from the trace headers."""


class ConfigError(FaciesError):
    """A job or option was given a value it cannot use."""


class CheckpointError(FaciesError):
    """A checkpoint is missing, unsafe or does not match the data."""


class OutputError(FaciesError):
    """An output cannot be written where it was asked for."""
