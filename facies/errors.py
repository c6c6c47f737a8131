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


class OptionError(ConfigError):
    """A config option must be set (or set otherwise): the message names it by a placeholder.

    Library code is shared by jobs that spell an option differently (``ignore_label`` in
    ``facies ingest``, ``data.ignore_label`` in ``facies train``), so it writes the option
    as ``{key}`` in the message (and any other option it names as ``{<name>}``, listed in
    ``others``). ``str(err)`` gives the bare names, as a Python caller passes them; the
    ``facies`` command shows the override key of the job that ran (:meth:`render`).

        raise OptionError("labels hold negative ids; set {key} to ...", option="ignore_label")
    """

    def __init__(self, message: str, *, option: str, others: tuple[str, ...] = ()) -> None:
        self.template = message
        self.option = option
        self.others = tuple(others)
        super().__init__(message)

    @property
    def options(self) -> tuple[str, ...]:
        """Every option the message names: ``option`` first."""
        return (self.option, *self.others)

    def render(self, key_of=None) -> str:
        """The message with each option written as ``key_of(name)`` (the bare name by
        default). Only the placeholders of the named options are replaced, so braces in
        the values quoted by the message are left alone."""
        key_of = key_of or (lambda name: name)
        text = self.template.replace("{key}", key_of(self.option))
        for name in self.options:
            text = text.replace("{" + name + "}", key_of(name))
        return text

    def __str__(self) -> str:
        return self.render()

    def __reduce__(self):  # picklable (worker processes), though the init takes keywords
        return (_option_error, (type(self), self.template, self.option, self.others))


def _option_error(cls: type, message: str, option: str, others: tuple[str, ...]) -> OptionError:
    return cls(message, option=option, others=others)


class GeometryOptionError(OptionError, GeometryError):
    """A geometry error whose fix is an option (``segy.iline``, ``segy.min_live_fraction``)."""


class SegyFormatOptionError(OptionError, SegyFormatError):
    """A format error whose fix is an option (``segy.sample_interval``, ``segy.domain``)."""


class TrainingError(FaciesError):
    """Training cannot go on: the loss diverged, or the data cannot be trained on."""
