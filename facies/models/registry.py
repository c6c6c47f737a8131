"""Models by name, and what each one consumes, so configs and checkpoints say ``model: unet``.

Every model declares its input before it is built: :func:`model_input` answers, from the
model's config alone, whether it reads whole sections or single traces, the multiple
its section heights and widths must be, and how many neighbouring traces it takes. The
data module, prediction and evaluation ask this instead of testing a model's name or
class, so a third model kind touches ``models/`` and one :data:`MODELS` entry only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from facies.errors import ConfigError
from facies.models.lstm import TraceLSTM
from facies.models.unet import UNet
from facies.names import SECTIONS, TRACES


@dataclass(frozen=True)
class ModelInput:
    """What a model consumes, known from its config before it is built.

    Attributes:
        kind: ``sections`` (2-D sections or patches, ``(N, 1, samples, traces)``) or
            ``traces`` (one trace, or a neighbourhood as channels, ``(N, C, samples)``).
        size_multiple: section heights and widths must be multiples of this (1 for traces).
        neighbourhood: traces on each side of a trace fed as channels (trace models).
    """

    kind: str
    size_multiple: int = 1
    neighbourhood: int = 0

    def __post_init__(self) -> None:
        if self.kind not in (SECTIONS, TRACES):
            raise ValueError(f"a model consumes {SECTIONS} or {TRACES}, not {self.kind!r}")


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: how to build it, what it consumes, which views explain it.

    Attributes:
        factory: the class (or function) that builds the network from the config's keys.
        input: the config's keys (without ``name``) -> :class:`ModelInput`.
        stages: the network exposes encoder stages (feature-hierarchy inspection).
        gates: the network records LSTM gate activations (the ``gates.png`` figure).
    """

    factory: Callable[..., nn.Module]
    input: Callable[..., ModelInput]
    stages: bool = False
    gates: bool = False


def _unet_input(depth: int = 4, **_: Any) -> ModelInput:
    return ModelInput(UNet.consumes, size_multiple=2 ** int(depth))


def _lstm_input(neighbourhood: int = 0, **_: Any) -> ModelInput:
    return ModelInput(TraceLSTM.consumes, neighbourhood=int(neighbourhood))


MODELS: dict[str, ModelEntry] = {
    "unet": ModelEntry(UNet, _unet_input, stages=True),
    "lstm": ModelEntry(TraceLSTM, _lstm_input, gates=True),
}


def model_entry(config: Mapping[str, Any] | str) -> ModelEntry:
    """The registry entry of a model config (``{"name": ..., ...}``) or a name.

    Raises:
        ConfigError: the name is missing or not registered (the message lists the names).
    """
    name = config if isinstance(config, str) else config.get("name")
    if name not in MODELS:
        raise ConfigError(
            f"unknown model {name!r}; valid names are: {', '.join(sorted(MODELS))} "
            f"(model={sorted(MODELS)[0]} ...)."
        )
    return MODELS[name]


def model_input(config: Mapping[str, Any]) -> ModelInput:
    """What the model of ``config`` consumes, without building it."""
    entry = model_entry(config)
    return entry.input(**{k: v for k, v in config.items() if k != "name"})


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with ``kwargs``.

    Raises:
        ConfigError: ``name`` is not in :data:`MODELS`, or ``kwargs`` do not match the
            factory's parameters (the message lists the accepted ones).
    """
    factory = model_entry(name).factory
    signature = inspect.signature(factory)
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        accepted = ", ".join(signature.parameters)
        raise ConfigError(
            f"model {name!r} cannot be built with {sorted(kwargs)}: {err}; it accepts: {accepted}"
        ) from None
    return factory(**kwargs)
