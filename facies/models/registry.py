"""Models by name, so configs and checkpoints can say ``model: unet``.

Each entry maps a name to a class or factory; :func:`build_model` checks the name and
the keyword arguments before calling it, so a typo fails with the valid choices.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from facies.errors import ConfigError
from facies.models.lstm import TraceLSTM
from facies.models.unet import UNet

MODELS: dict[str, Callable[..., nn.Module]] = {
    "unet": UNet,
    "lstm": TraceLSTM,
}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with ``kwargs``.

    Raises:
        ConfigError: ``name`` is not in :data:`MODELS`, or ``kwargs`` do not match the
            factory's parameters (the message lists the accepted ones).
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; valid names are: {', '.join(sorted(MODELS))}")
    factory = MODELS[name]
    signature = inspect.signature(factory)
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        accepted = ", ".join(signature.parameters)
        raise ConfigError(
            f"model {name!r} cannot be built with {sorted(kwargs)}: {err}; it accepts: {accepted}"
        ) from None
    return factory(**kwargs)
